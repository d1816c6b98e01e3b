using Microsoft.ML.OnnxRuntime;

namespace GoodTransfer.ML.Tests.Onnx;

/// <summary>A fresh folder under the system's temporary folder, deleted with its contents on dispose.</summary>
internal sealed class TemporaryFolder : IDisposable
{
    public TemporaryFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "goodtransfer-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Runs a featurizer model in ONNX Runtime (CPU) and compares feature vectors.</summary>
internal static class OnnxFeaturizer
{
    /// <summary>Runs the model on a batch of <c>[batch, 3, size, size]</c> images.</summary>
    /// <returns>The <c>features</c> output and its shape.</returns>
    public static (float[] Values, long[] Shape) Run(string modelPath, float[] images, int batch, int size = 224)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(modelPath, options);
        using var input = OrtValue.CreateTensorValueFromMemory(images, [batch, 3, size, size]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["image"], [input], ["features"]);
        var output = outputs[0];
        return (output.GetTensorDataAsSpan<float>().ToArray(), output.GetTensorTypeAndShape().Shape);
    }

    public static double Cosine(ReadOnlySpan<double> a, ReadOnlySpan<float> b)
    {
        double dot = 0, normA = 0, normB = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            normA += a[i] * a[i];
            normB += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(normA * normB);
    }
}
