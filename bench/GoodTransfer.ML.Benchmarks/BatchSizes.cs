using System.Globalization;
using GoodTransfer.ML;

/// <summary>
/// Whether batching buys throughput on this CPU: raw ONNX Runtime on the float32 ResNet-50 graph at several batch sizes,
/// one single-threaded session run per core (as the featurizer and <c>FeaturizerService</c> run batches) and one session on
/// every core, alternating, medians. Where a batch of 8 runs no faster per image than one image at a time, a service that
/// batches concurrent requests cannot answer many more of them than one that runs each alone (bench/loadtest/README.md).
/// </summary>
internal static class BatchSizes
{
    public static void Run(string checkpoint, IReadOnlyList<int> sizes, int images, int passes, string work)
    {
        if (sizes.Count == 0 || sizes.Any(s => s < 1 || images % s != 0))
        {
            throw new ArgumentException($"Each batch size must divide --images ({images}): {string.Join(",", sizes)}.");
        }

        var model = Path.Combine(work, "resnet50-fp32.onnx");
        Backbone.FromFile(checkpoint).ExportOnnx(model);
        var measured = Throughput.Alternating(passes, [
            .. sizes.Select(size => (Func<double>)(() => Throughput.RawOrtPerCore(model, images, size))),
            .. sizes.Select(size => (Func<double>)(() => Throughput.RawOrt(model, images, size))),
        ]);
        var perCore = measured[..sizes.Count];
        var shared = measured[sizes.Count..];
        Console.WriteLine();
        Console.WriteLine(Invariant($"Machine: {BenchProcess.CpuName()}, {Environment.ProcessorCount} cores. Raw ONNX Runtime, float32 ResNet-50 at 224x224, {images} images a measurement, medians of {passes} passes (images/s; in brackets, against batch {sizes[0]}):"));
        Console.WriteLine();
        Console.WriteLine($"| batch | one single-threaded run per core | one run on {Environment.ProcessorCount} threads |");
        Console.WriteLine("|---|---|---|");
        for (var i = 0; i < sizes.Count; i++)
        {
            Console.WriteLine(Invariant($"| {sizes[i]} | {perCore[i]:F2} ({perCore[i] / perCore[0]:F2}) | {shared[i]:F2} ({shared[i] / shared[0]:F2}) |"));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
