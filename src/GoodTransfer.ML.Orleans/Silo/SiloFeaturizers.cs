using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Orleans;

/// <summary>
/// A silo's fitted featurizers, one per <see cref="FeaturizerSpec"/>, fitted on first use and kept for the silo's
/// life, and the batches run with them, off the Orleans scheduler and at most
/// <see cref="FeaturizerSiloOptions.MaxConcurrentBatches"/> at once. Owns the featurizers' ONNX Runtime sessions:
/// a singleton of the silo's services, disposed with them.
/// </summary>
internal sealed partial class SiloFeaturizers : IDisposable
{
    private readonly MLContext mlContext = new();
    private readonly ConcurrentDictionary<string, Lazy<GoodTransferTransformer>> fitted = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim turns;
    private readonly ILogger<SiloFeaturizers> logger;

    public SiloFeaturizers(IOptions<FeaturizerSiloOptions> options, ILogger<SiloFeaturizers> logger)
    {
        turns = new SemaphoreSlim(options.Value.MaxConcurrentBatches);
        this.logger = logger;
        if (ThreadPoolSpinning.ForThisProcess() is { } advice)
        {
            LogThreadPoolSpins(logger, advice);
        }
    }

    /// <summary>Featurizes <paramref name="batch"/> and writes its part, unless the part is complete already.</summary>
    public async Task<BatchResult> RunAsync(FeatureBatch batch, string silo, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        if (File.Exists(batch.PartPath))
        {
            return new BatchResult(batch.Index, silo, batch.Images.Count, started.Elapsed.TotalSeconds, AlreadyComplete: true, Error: null);
        }

        await turns.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Off the Orleans scheduler: the grain's thread must stay free for the heartbeat and for Orleans' own work.
            return await Task.Run(
                () =>
                {
                    var rows = Featurize(batch, cancellationToken, out var featurizer);
                    cancellationToken.ThrowIfCancellationRequested();
                    FeatureFile.Write(batch.PartPath, FeatureFileMetadata.For(featurizer), rows);
                    LogBatchWritten(logger, batch.Index, batch.Count, rows.Count, batch.PartPath);
                    return new BatchResult(batch.Index, silo, rows.Count, started.Elapsed.TotalSeconds, AlreadyComplete: false, Error: null);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (IsAboutTheInput(exception))
        {
            LogBatchFailed(logger, exception, batch.Index, batch.Count);
            return new BatchResult(batch.Index, silo, 0, started.Elapsed.TotalSeconds, AlreadyComplete: false, Error: $"{exception.GetType().Name}: {exception.Message}");
        }
        finally
        {
            turns.Release();
        }
    }

    public void Dispose()
    {
        foreach (var featurizer in fitted.Values.Where(f => f.IsValueCreated))
        {
            featurizer.Value.Dispose();
        }

        turns.Dispose();
    }

    // Errors that another silo would meet too: bad images, a checkpoint that cannot be had or read, bad options.
    // Anything else (out of memory, a disk that filled, a bug) may be this silo's, so the job retries it elsewhere.
    private static bool IsAboutTheInput(Exception exception) =>
        exception is InvalidImageException or CheckpointFormatException or CheckpointMismatchException or UnsafeCheckpointException
            or ArgumentException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException;

    private List<FeatureRow> Featurize(FeatureBatch batch, CancellationToken cancellationToken, out GoodTransferTransformer featurizer)
    {
        featurizer = Fitted(batch.Featurizer);
        // An array, so that the data view knows its row count and the featurizer shares the batch's last images evenly between the cores.
        var data = mlContext.Data.LoadFromEnumerable(batch.Images.Select(image => new PathRow { Path = image.Path }).ToArray());
        var output = featurizer.Transform(data);
        var column = output.Schema[featurizer.OutputColumnName];
        var rows = new List<FeatureRow>(batch.Images.Count);
        using var cursor = output.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var features = default(VBuffer<float>);
        while (cursor.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            getter(ref features);
            var image = batch.Images[rows.Count];
            rows.Add(new FeatureRow(image.Path, image.Label, features.DenseValues().ToArray()));
        }

        return rows;
    }

    // Lazy: concurrent first batches of one spec fit it once; a fit that throws is forgotten, so the next batch tries again.
    private GoodTransferTransformer Fitted(FeaturizerSpec spec)
    {
        var lazy = fitted.GetOrAdd(spec.Key, _ => new Lazy<GoodTransferTransformer>(() => Fit(spec)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            fitted.TryRemove(new KeyValuePair<string, Lazy<GoodTransferTransformer>>(spec.Key, lazy));
            throw;
        }
    }

    private GoodTransferTransformer Fit(FeaturizerSpec spec)
    {
        var started = Stopwatch.StartNew();
        var estimator = mlContext.Transforms.GoodTransferFeaturize(spec.ToBackbone(), "Features", nameof(PathRow.Path), spec.ToOptions());
        var featurizer = estimator.Fit(mlContext.Data.LoadFromEnumerable(Array.Empty<PathRow>()));
        LogFitted(logger, featurizer.BackboneName, started.Elapsed.TotalSeconds);
        return featurizer;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Advice}")]
    private static partial void LogThreadPoolSpins(ILogger logger, string advice);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fitted {Backbone} in {Seconds:F1} s")]
    private static partial void LogFitted(ILogger logger, string backbone, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch {Index} of {Count}: {Images} images written to {Part}")]
    private static partial void LogBatchWritten(ILogger logger, int index, int count, int images, string part);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {Index} of {Count} failed")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int index, int count);

    private sealed class PathRow
    {
        public string Path { get; set; } = string.Empty;
    }
}
