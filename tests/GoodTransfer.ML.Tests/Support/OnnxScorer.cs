using Microsoft.ML.OnnxRuntime;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>Runs an exported featurizer with ONNX Runtime directly, as a user of the ONNX file would.</summary>
public static class OnnxScorer
{
    /// <summary>The features of a batch of <c>[batch, 3, size, size]</c> images (224 by default, ImageNet's crop).</summary>
    public static float[] Run(string onnxPath, float[] input, int batch, int size = 224)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(onnxPath, options);
        using var value = OrtValue.CreateTensorValueFromMemory(input, [batch, 3, size, size]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["image"], [value], ["features"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
