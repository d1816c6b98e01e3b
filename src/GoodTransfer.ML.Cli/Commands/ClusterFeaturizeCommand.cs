using System.Globalization;
using GoodTransfer.ML.Cli.Console;
using GoodTransfer.ML.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary>
/// <c>goodtransfer featurize INPUT --out DIR --cluster redis=HOST:PORT</c>: the same images and parts as a local
/// featurize, run as a <see cref="FeaturizationJob"/> on the silos of an Orleans cluster (<c>goodtransfer silo</c>).
/// </summary>
internal static class ClusterFeaturizeCommand
{
    /// <summary>Parses <c>redis=HOST:PORT</c>, the one membership store the tool knows.</summary>
    public static string RedisOf(string cluster) =>
        cluster.StartsWith("redis=", StringComparison.Ordinal) && cluster.Length > "redis=".Length
            ? cluster["redis=".Length..]
            : throw CliFailure.BadInput($"--cluster '{cluster}': expected redis=HOST:PORT (the Redis server that holds the cluster's membership)");

    public static int Run(string input, string output, string cluster, string clusterId, string serviceId, int imagesPerBatch, Backbone backbone, GoodTransferOptions options)
    {
        var redis = RedisOf(cluster);
        if (File.Exists(output) || Path.GetExtension(output) is ".parquet" or ".csv")
        {
            throw CliFailure.BadInput($"--out '{output}': with --cluster, OUT is a folder of parts (part-I-of-N.parquet)");
        }

        var images = FeaturizationPlan.ListImages(input).Select(i => new ImageEntry(Path.GetFullPath(i.Path), i.Label)).ToList();
        FeaturizerSpec spec;
        try
        {
            spec = FeaturizerSpec.For(backbone, options);
        }
        catch (ArgumentException e)
        {
            throw CliFailure.BadInput(e.Message);
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Error);
        builder.UseOrleansClient(client => client
            .UseRedisClustering(redis)
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, serviceId))
            .AddGoodTransferJobClient());
        using var host = builder.Build();
        host.StartAsync().GetAwaiter().GetResult();
        var job = new FeaturizationJob(host.Services.GetRequiredService<IClusterClient>(), spec, images, output, new FeaturizationJobOptions { ImagesPerBatch = imagesPerBatch });
        Terminal.Line($"{images.Count} images in {job.BatchCount} batches of {imagesPerBatch}, on cluster {clusterId} (Redis {redis}), into {job.OutputFolder}");
        try
        {
            var result = job.RunAsync(new LineProgress()).GetAwaiter().GetResult();
            var silos = string.Join(", ", result.Silos.Select(s => $"{s.Silo} {s.Batches} parts"));
            Terminal.Line(string.Create(CultureInfo.InvariantCulture,
                $"Done: {result.BatchesRun} parts written, {result.BatchesSkipped} complete already, {result.Retries} retries, in {result.Elapsed.TotalSeconds:F1} s{(silos.Length > 0 ? "; " + silos : string.Empty)}"));
            return ExitCodes.Ok;
        }
        catch (FeaturizationJobException e)
        {
            throw CliFailure.BadInput(e.Message);
        }
        finally
        {
            host.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        }
    }

    /// <summary>A line per event, at most one progress line a second for parts written.</summary>
    private sealed class LineProgress : IProgress<FeaturizationProgress>
    {
        private TimeSpan last = TimeSpan.MinValue;

        public void Report(FeaturizationProgress value)
        {
            if (value.Event == FeaturizationEvent.BatchDone && value.BatchesDone < value.BatchesTotal && value.Elapsed - last < TimeSpan.FromSeconds(1))
            {
                return;
            }

            last = value.Elapsed;
            var what = value.Event switch
            {
                FeaturizationEvent.SiloJoined => $"silo {value.Silo} joined",
                FeaturizationEvent.SiloLost => $"silo {value.Silo} lost ({value.Reason})",
                FeaturizationEvent.BatchRetried => $"batch {value.Batch} sent again ({value.Reason})",
                FeaturizationEvent.Started => $"{value.BatchesSkipped} parts complete already",
                _ => string.Join(", ", value.Silos.Select(s => $"{s.Silo} {s.Batches}")),
            };
            Terminal.Error(string.Create(CultureInfo.InvariantCulture, $"[{value.Elapsed.TotalSeconds,7:F1} s] {value.BatchesDone}/{value.BatchesTotal} parts, {value.ImagesPerSecond:F1} images/s: {what}"));
        }
    }
}
