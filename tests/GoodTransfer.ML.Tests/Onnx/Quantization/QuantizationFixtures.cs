using GoodTransfer.ML.Onnx.Proto;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML.OnnxRuntime;

namespace GoodTransfer.ML.Tests.Onnx.Quantization;

/// <summary>
/// Calibration and held-out images for the int8 tests, and what ONNX Runtime makes of a model.
/// </summary>
/// <remarks>
/// The fixture photos are variants of four scikit-image photographs. Calibration uses variants of two
/// (the cat and the coffee cup); the held-out images are the other two (the astronaut and the rocket),
/// so no held-out image shares a scene with a calibration image.
/// </remarks>
internal static class QuantizationFixtures
{
    public static IReadOnlyList<string> CalibrationFiles { get; } =
        ["chelsea_333x500.jpg", "chelsea_progressive.jpg", "chelsea_289x256.jpg", "coffee_500x333.jpg", "coffee_422.jpg", "coffee_256x300.jpg"];

    public static IReadOnlyList<string> HeldOutFiles { get; } =
        ["astronaut_257x999.jpg", "astronaut_rgba.png", "astronaut_gray.jpg", "rocket.jpg"];

    public static IReadOnlyList<string> CalibrationPaths => [.. CalibrationFiles.Select(ImagePath)];

    public static IReadOnlyList<string> HeldOutPaths => [.. HeldOutFiles.Select(ImagePath)];

    public static string ImagePath(string file) => FixtureManifest.PathOf(Path.Combine("images", file));

    /// <summary>The held-out images as one <c>[N, 3, 224, 224]</c> batch.</summary>
    public static float[] HeldOutBatch() =>
        [.. GoodTransfer.ML.Onnx.Quantization.CalibrationImages.FromFiles(HeldOutPaths, ImagePreprocessing.ImageNet).SelectMany(t => t)];

    /// <summary>Runs a batched featurizer file with ONNX Runtime (2 threads, every optimization) and returns its features.</summary>
    public static float[] Features(string onnxPath, float[] images, int batch) => OnnxFeaturizer.Run(onnxPath, images, batch).Values;

    /// <summary>
    /// The op types of the graph ONNX Runtime runs after its optimizations (as <c>domain:op</c>, the default
    /// domain empty), from the optimized model it writes with <see cref="SessionOptions.OptimizedModelFilePath"/>.
    /// </summary>
    public static List<string> OptimizedOpTypes(string onnxPath)
    {
        var optimized = Path.Combine(Path.GetDirectoryName(onnxPath)!, Path.GetFileNameWithoutExtension(onnxPath) + ".optimized.onnx");
        using (var options = new SessionOptions
        {
            IntraOpNumThreads = 2,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            OptimizedModelFilePath = optimized,
        })
        using (new InferenceSession(onnxPath, options))
        {
        }

        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized));
        return [.. model.Graph.Node.Select(n => $"{n.Domain}:{n.OpType}")];
    }

    /// <summary>The smallest per-row cosine between two <c>[rows, C]</c> feature batches.</summary>
    /// <summary>Writes both models and returns the worst cosine between their features on the held-out photos.</summary>
    public static double WorstHeldOutCosine(GoodTransfer.ML.Onnx.Proto.ModelProto actual, GoodTransfer.ML.Onnx.Proto.ModelProto reference)
    {
        using var folder = new TemporaryFolder();
        GoodTransfer.ML.Onnx.OnnxModelWriter.Write(actual, folder.File("actual.onnx"));
        GoodTransfer.ML.Onnx.OnnxModelWriter.Write(reference, folder.File("reference.onnx"));
        var images = HeldOutBatch();
        return WorstCosine(Features(folder.File("actual.onnx"), images, HeldOutFiles.Count), Features(folder.File("reference.onnx"), images, HeldOutFiles.Count), HeldOutFiles.Count);
    }

    public static double WorstCosine(float[] actual, float[] expected, int rows)
    {
        Assert.Equal(expected.Length, actual.Length);
        var columns = expected.Length / rows;
        return Enumerable.Range(0, rows)
            .Min(r => Similarity.Cosine(actual.AsSpan(r * columns, columns), expected.AsSpan(r * columns, columns)));
    }
}
