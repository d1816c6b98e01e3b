namespace GoodTransfer.ML;

/// <summary>How a <see cref="FeaturizerService"/> batches and bounds its requests; each default is documented on its property.</summary>
public sealed class FeaturizerServiceOptions
{
    /// <summary>
    /// The most images in one network run. The default, <see langword="null"/>, takes the featurizer's
    /// <see cref="GoodTransferOptions.BatchSize"/> (8 unless set), or 8 for a loaded model.
    /// </summary>
    public int? BatchSize { get; set; }

    /// <summary>
    /// How long the first request of a batch waits for others to fill it, at most; a lone caller's request does not
    /// wait (<see cref="RunAtOnceWhenIdle"/>). The default is 5 ms: next to a ResNet-50 run on
    /// a CPU (tens of milliseconds an image) it costs little, and under load the next batch fills from the queue
    /// without waiting. <see cref="TimeSpan.Zero"/> runs whatever is queued at once.
    /// </summary>
    public TimeSpan MaxBatchDelay { get; set; } = FeaturizerServiceDefaults.MaxBatchDelay;

    /// <summary>
    /// Whether a lone caller's request runs at once, with whatever is queued, instead of waiting up to
    /// <see cref="MaxBatchDelay"/> for company (as Triton's dynamic batcher does with no queue delay). Lone: when it
    /// came, nothing was queued or running, and the same held for the request before it. So a caller who sends one
    /// image after another gets each answer without the delay, while a burst that finds the service empty (clients
    /// sending their next images as one batch's answers reach them) still waits and runs as one batch. The default is
    /// <see langword="true"/>; turn it off to make every batch wait for the delay or a full batch.
    /// </summary>
    public bool RunAtOnceWhenIdle { get; set; } = FeaturizerServiceDefaults.RunAtOnceWhenIdle;

    /// <summary>
    /// The most requests waiting for a batch (the batch running is not counted); a request beyond it is refused
    /// at once with <see cref="ServiceOverloadedException"/>. The default is 256.
    /// </summary>
    public int MaxQueueLength { get; set; } = FeaturizerServiceDefaults.MaxQueueLength;

    /// <summary>
    /// For <see cref="FeaturizerService.Load"/>: the cores used on the CPU, ONNX Runtime's intra-op threads for a batch
    /// alone and the number of batches that run side by side. The default, <see langword="null"/>, uses every core.
    /// (<see cref="FeaturizerService.Create"/> takes the featurizer's <see cref="GoodTransferOptions.CpuThreads"/>.)
    /// </summary>
    public int? CpuThreads { get; set; }

    /// <summary>For <see cref="FeaturizerService.Load"/>: the CUDA device to run on (the GoodTransfer.ML.Gpu package), or <see langword="null"/> (the default) for the CPU.</summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>For <see cref="FeaturizerService.Load"/>: whether to run on the CPU when the GPU cannot be used. The default is <see langword="true"/>.</summary>
    public bool FallbackToCpu { get; set; } = GoodTransferDefaults.FallbackToCpu;

    /// <summary>For <see cref="FeaturizerService.PredictAsync(ReadOnlyMemory{byte}, CancellationToken)"/>: the text column of the predicted class. The default is <c>PredictedLabel</c>.</summary>
    public string PredictedLabelColumnName { get; set; } = FeaturizerServiceDefaults.PredictedLabelColumnName;

    /// <summary>For <see cref="FeaturizerService.PredictAsync(ReadOnlyMemory{byte}, CancellationToken)"/>: the vector column of the scores per class. The default is <c>Score</c>.</summary>
    public string ScoreColumnName { get; set; } = FeaturizerServiceDefaults.ScoreColumnName;
}

/// <summary>The defaults of <see cref="FeaturizerServiceOptions"/>, in one place.</summary>
internal static class FeaturizerServiceDefaults
{
    public const int MaxQueueLength = 256;
    public const bool RunAtOnceWhenIdle = true;
    public const string PredictedLabelColumnName = "PredictedLabel";
    public const string ScoreColumnName = "Score";

    public static readonly TimeSpan MaxBatchDelay = TimeSpan.FromMilliseconds(5);
}
