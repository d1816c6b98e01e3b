using Microsoft.ML.OnnxRuntime;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>Runs an exported featurizer with ONNX Runtime directly, as a user of the ONNX file would.</summary>
public static class OnnxScorer
{
    public static float[] Run(string onnxPath, float[] input, int batch)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(onnxPath, options);
        using var value = OrtValue.CreateTensorValueFromMemory(input, [batch, 3, 224, 224]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["image"], [value], ["features"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
