using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML;
using Microsoft.ML.OnnxRuntime;

/// <summary>
/// Raw ONNX Runtime throughput of the float32 and the int8 ResNet-50 featurizer graphs, as
/// <see cref="OnnxExportExtensions.ExportOnnx"/> writes them, in one process: 2 intra-op threads, every graph
/// optimization, batch 1 and 8. The two graphs alternate pass by pass, so that a shared machine's load
/// falls on both alike; each figure is the median over the passes.
/// </summary>
internal static class Int8Throughput
{
    private const int Size = 224;
    private const int Threads = 2;

    /// <summary>Prints images per second of both graphs and their ratio, then the features' cosine on the photos.</summary>
    /// <param name="checkpoint">A full-size ResNet-50 checkpoint.</param>
    /// <param name="photos">Photo files: the first half calibrates the int8 graph, the second half are the held-out images of the cosine check.</param>
    /// <param name="passes">Passes per graph and batch size.</param>
    /// <param name="imagesPerPass">Images featurized in each pass.</param>
    /// <param name="work">A scratch folder.</param>
    public static void Run(string checkpoint, IReadOnlyList<string> photos, int passes, int imagesPerPass, string work)
    {
        var calibration = photos.Take(photos.Count / 2).ToList();
        var heldOut = photos.Skip(photos.Count / 2).ToList();
        var fp32 = Path.Combine(work, "resnet50-fp32.onnx");
        var int8 = Path.Combine(work, "resnet50-int8.onnx");
        var backbone = Backbone.FromFile(checkpoint);
        backbone.ExportOnnx(fp32);
        var clock = Stopwatch.StartNew();
        backbone.ExportOnnx(int8, new GoodTransferOptions { Precision = Precision.Int8, CalibrationImages = calibration });
        var exportSeconds = clock.Elapsed.TotalSeconds;

        Console.WriteLine();
        Console.WriteLine(Invariant($"Raw ONNX Runtime {typeof(InferenceSession).Assembly.GetName().Version}, ResNet-50 at 224x224, {Threads} intra-op threads, ORT_ENABLE_ALL; medians of {passes} alternating passes of {imagesPerPass} images (images/s):"));
        Console.WriteLine();
        Console.WriteLine("| batch | float32 | int8 | int8 / float32 |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var batch in new[] { 1, 8 })
        {
            using var fp32Session = Session(fp32);
            using var int8Session = Session(int8);
            var fp32Rates = new List<double>();
            var int8Rates = new List<double>();
            var ratios = new List<double>();
            for (var pass = 0; pass < passes; pass++)
            {
                fp32Rates.Add(Throughput.RawImagesPerSecond(fp32Session, batch, imagesPerPass));
                int8Rates.Add(Throughput.RawImagesPerSecond(int8Session, batch, imagesPerPass));
                ratios.Add(int8Rates[^1] / fp32Rates[^1]);
            }

            Console.WriteLine(Invariant($"| {batch} | {Median(fp32Rates):F1} | {Median(int8Rates):F1} | {Median(ratios):F2}x |"));
        }

        Console.WriteLine();
        Console.WriteLine(Invariant($"int8 export (conversion, calibration on {calibration.Count} photos, quantization, writing): {exportSeconds:F1} s"));
        var fp32Features = Features(fp32, heldOut);
        var int8Features = Features(int8, heldOut);
        var cosines = fp32Features.Zip(int8Features, Cosine).ToList();
        Console.WriteLine(Invariant($"Cosine of int8 to float32 features on {heldOut.Count} held-out photos: min {cosines.Min():F5}, mean {cosines.Average():F5}"));
    }

    private static InferenceSession Session(string model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = Threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        return new InferenceSession(model, options);
    }

    /// <summary>The features of each photo, decoded and preprocessed as the featurizer does it.</summary>
    private static List<float[]> Features(string model, IReadOnlyList<string> photos)
    {
        var tensors = GoodTransfer.ML.Onnx.Quantization.CalibrationImages.FromFiles(photos, ImagePreprocessing.ImageNet);
        using var session = Session(model);
        using var runOptions = new RunOptions();
        var features = new List<float[]>();
        foreach (var tensor in tensors)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(tensor, [1, 3, Size, Size]);
            using var result = session.Run(runOptions, ["image"], [value], ["features"]);
            features.Add(result[0].GetTensorDataAsSpan<float>().ToArray());
        }

        return features;
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
