using System.Globalization;
using System.Text.Json;
using GoodTransfer.ML;
using Microsoft.ML;

/// <summary>
/// Peak memory of the CPU path by worker count: the featurizer runs one worker per core, each with one batch
/// of activations in flight, so memory grows with the cores. Each count runs in a fresh process (the peak
/// resident set cannot be reset), which fits the featurizer, featurizes the photos from a path column with
/// <see cref="GoodTransferOptions.CpuThreads"/> set to the count, and reports its peak resident set. More
/// workers than cores only share the cores: the memory is what a machine with that many cores would hold.
/// </summary>
internal static class MemoryPerWorker
{
    public const string ChildMode = "--featurize-for-memory";

    public static void Run(string self, string[] selfArgs, string checkpoint, IReadOnlyList<string> photos, IReadOnlyList<int> workerCounts, string work)
    {
        var list = Path.Combine(work, "photos.txt");
        File.WriteAllLines(list, photos);
        var cache = Path.Combine(work, "cache");

        // Once, so that no measured process converts the checkpoint.
        BenchProcess.Run(self, [.. selfArgs, ChildMode, checkpoint, cache, "1", list, "1"]);

        var rows = new List<(int Workers, double FittedMb, double PeakMb, double ImagesPerSecond)>();
        foreach (var workers in workerCounts)
        {
            var result = JsonDocument.Parse(BenchProcess.Run(self, [.. selfArgs, ChildMode, checkpoint, cache, workers.ToString(CultureInfo.InvariantCulture), list, photos.Count.ToString(CultureInfo.InvariantCulture)]).Trim().Split('\n')[^1]).RootElement;
            rows.Add((workers, result.GetProperty("fitted_mb").GetDouble(), result.GetProperty("peak_mb").GetDouble(), result.GetProperty("images_per_second").GetDouble()));
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Machine: {BenchProcess.CpuName()}, {Environment.ProcessorCount} cores, .NET {Environment.Version}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Peak resident set by CPU workers (CpuThreads), ResNet-50 float32, batch 8, {photos.Count} photos from a path column, one fresh process each:"));
        Console.WriteLine();
        Console.WriteLine("| workers | after Fit (MB) | peak (MB) | peak - after Fit (MB) | per worker (MB) | images/s |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            var added = row.PeakMb - row.FittedMb;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {row.Workers} | {row.FittedMb:F0} | {row.PeakMb:F0} | {added:F0} | {added / row.Workers:F0} | {row.ImagesPerSecond:F1} |"));
        }
    }

    /// <summary>The child: fit, then featurize the first <paramref name="count"/> photos of the list; prints the figures as JSON.</summary>
    public static int Child(string checkpoint, string cache, int workers, string list, int count)
    {
        var mlContext = new MLContext(seed: 1);
        var paths = File.ReadAllLines(list).Take(count).Select(p => new Throughput.PathRow { Path = p }).ToArray();
        var data = mlContext.Data.LoadFromEnumerable(paths);
        var options = new GoodTransferOptions { CacheDirectory = cache, CpuThreads = workers };
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(Backbone.FromFile(checkpoint), inputColumnName: "Path", options: options).Fit(data);
        var fitted = BenchProcess.StatusMegabytes("VmRSS:");
        var imagesPerSecond = Throughput.Featurize(featurizer.Transform(data), paths.Length);
        Console.WriteLine(JsonSerializer.Serialize(new { fitted_mb = fitted, peak_mb = BenchProcess.PeakRssMegabytes(), images_per_second = imagesPerSecond }));
        return 0;
    }
}
