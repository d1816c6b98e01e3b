using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Runtime;
using GoodTransfer.ML.Serving;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML;

/// <summary>
/// Featurizes (and classifies) images for many concurrent callers, as a web service needs: each call is queued,
/// and workers run the queue through the featurizer's batched ONNX Runtime session in batches of up to
/// <see cref="BatchSize"/>, waiting at most <see cref="MaxBatchDelay"/> for a batch to fill (a lone caller's request
/// runs at once: <see cref="RunAtOnceWhenIdle"/>). Thread-safe.
/// </summary>
/// <remarks>
/// <para>ML.NET's <c>PredictionEngine</c> runs one image per call and is not thread-safe; a pool of them runs
/// one ONNX Runtime session per concurrent request, and on a CPU their threads fight over the cores. This
/// service has one worker per core on the CPU (one on a GPU). A batch alone decodes its images on every core and
/// runs on every core; when requests keep coming, batches run side by side, each decoded and run on its own
/// worker's core alone (a single-threaded run of the same session), so that no run waits at an operator's
/// barrier for a core that another batch's decoding or the web server has taken.</para>
/// <para>The features of an image are the floats that the featurizer's <c>Transform</c> gives for it, bit for
/// bit: the same session, and the same decoding as a column of encoded bytes or paths.</para>
/// <para>The queue is bounded (<see cref="FeaturizerServiceOptions.MaxQueueLength"/>): a call beyond it fails at
/// once with <see cref="ServiceOverloadedException"/>. Cancelling a call while it waits removes it from the
/// queue; it is never run. <see cref="StopAsync"/> (and <see cref="DisposeAsync"/>) let every call already
/// accepted finish and refuse new ones with <see cref="ServiceStoppedException"/>.</para>
/// <para>Made by <see cref="Create"/> over a fitted featurizer, which it uses and does not own (dispose it
/// after the service), or by <see cref="Load"/> from a saved model zip, whose ONNX Runtime session it owns:
/// dispose the service when done. In ASP.NET Core, <c>services.AddGoodTransfer(...)</c> registers it as a
/// singleton that the host disposes at shutdown, after the server has finished its requests.</para>
/// </remarks>
public sealed class FeaturizerService : IAsyncDisposable, IDisposable
{
    private readonly RequestBatcher batcher;
    private readonly FeatureBatchRunner runner;
    private readonly DownstreamModel? downstream;
    private readonly string? whyNoPrediction;
    private readonly Action? release;
    private readonly object stopGate = new();
    private Task? stopped;

    private FeaturizerService(string name, FeatureSession session, TorchvisionTransform transform, int batchSize, FeaturizerServiceOptions options, DownstreamModel? downstream, string? whyNoPrediction, Action? release)
    {
        Name = name;
        BatchSize = batchSize;
        MaxBatchDelay = options.MaxBatchDelay;
        RunAtOnceWhenIdle = options.RunAtOnceWhenIdle;
        MaxQueueLength = options.MaxQueueLength;
        FeatureSize = session.FeatureSize;
        this.downstream = downstream;
        this.whyNoPrediction = whyNoPrediction;
        this.release = release;
        runner = new FeatureBatchRunner(session, transform, downstream);
        // One worker per core on the CPU (each batch then decodes and runs on its core when batches run side by side), one on a GPU.
        var workers = session.GpuDeviceId is null ? session.CpuThreads : 1;
        if (workers > 1)
        {
            session.EnsureOpen(FeatureSessionUse.CoreBatches);
        }

        batcher = new RequestBatcher(name, batchSize, options.MaxBatchDelay, options.RunAtOnceWhenIdle, options.MaxQueueLength, workers, runner.Run);
    }

    /// <summary>What errors call the service: the backbone's name, or the model file's.</summary>
    public string Name { get; }

    /// <summary>The most images in one network run.</summary>
    public int BatchSize { get; }

    /// <summary>How long the first request of a batch waits for others to fill it, at most (a lone caller's not at all, when <see cref="RunAtOnceWhenIdle"/>).</summary>
    public TimeSpan MaxBatchDelay { get; }

    /// <summary>Whether a lone caller's request runs at once (<see cref="FeaturizerServiceOptions.RunAtOnceWhenIdle"/>).</summary>
    public bool RunAtOnceWhenIdle { get; }

    /// <summary>The most requests waiting for a batch.</summary>
    public int MaxQueueLength { get; }

    /// <summary>C, the length of each feature vector.</summary>
    public int FeatureSize { get; }

    /// <summary>Whether <see cref="PredictAsync(ReadOnlyMemory{byte}, CancellationToken)"/> can be called: the service was loaded from a model zip with a classifier after the featurizer.</summary>
    public bool CanPredict => downstream is not null;

    /// <summary>The classes the scores of a prediction are for, in order; empty when the service cannot predict, or the model names no classes.</summary>
    public IReadOnlyList<string> ClassNames => downstream?.ClassNames ?? [];

    /// <summary>Requests waiting for a batch now.</summary>
    public int QueueLength => batcher.QueueLength;

    /// <summary>Network runs so far.</summary>
    public long BatchesRun => runner.Batches;

    /// <summary>Images featurized so far; <see cref="ImagesRun"/> / <see cref="BatchesRun"/> is the mean batch size.</summary>
    public long ImagesRun => runner.Images;

    /// <summary>Batches running now.</summary>
    internal int BatchesRunning => batcher.Running;

    /// <summary>Batches run at once for a lone caller (<see cref="RunAtOnceWhenIdle"/>), neither full nor after the delay.</summary>
    internal long BatchesRunAtOnce => batcher.BatchesRunAtOnce;

    /// <summary>Network runs so far that ran side by side with another batch, each on one core.</summary>
    internal long BatchesRunOnOneCore => runner.BatchesOnOneCore;

    /// <summary>Told the number of images of each network run, after it (on the worker's thread that ran it).</summary>
    internal event Action<int>? BatchRan
    {
        add => runner.BatchRan += value;
        remove => runner.BatchRan -= value;
    }

    /// <summary>A service over a fitted featurizer: its batched session, its preprocessing and its batch size.</summary>
    /// <param name="featurizer">The featurizer. The service does not own it: dispose it after the service.</param>
    /// <param name="options">Batching and queue settings; the defaults are documented on each.</param>
    /// <exception cref="ArgumentException">An option is out of range; <see cref="ArgumentException.ParamName"/> names it.</exception>
    /// <exception cref="ObjectDisposedException">The featurizer is disposed.</exception>
    public static FeaturizerService Create(GoodTransferTransformer featurizer, FeaturizerServiceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        options = Check(options);
        // On the CPU the service runs each batch on every core, in a session of its own beside the data view's
        // single-threaded one: opened here, so that the first request does not wait for it.
        featurizer.Session.EnsureOpen(FeatureSessionUse.ServiceBatches);
        return new FeaturizerService(featurizer.BackboneName, featurizer.Session, featurizer.Preprocess, options.BatchSize ?? featurizer.BatchSize, options, downstream: null, "the service was made over a featurizer alone (FeaturizerService.Create); load a saved model zip with a classifier after the featurizer (FeaturizerService.Load)", release: null);
    }

    /// <summary>
    /// A service over a saved model zip that holds a featurizer (<c>mlContext.Model.Save</c> of a pipeline with
    /// <c>GoodTransferFeaturize</c>), such as the classifier that samples/ImageClassifier saves. It works offline
    /// with an empty cache: the ONNX model is inside the zip. Steps before the featurizer (<c>LoadImages</c>) are
    /// not run, since a request is the image itself; the steps after it are the classifier that
    /// <see cref="PredictAsync(ReadOnlyMemory{byte}, CancellationToken)"/> runs.
    /// </summary>
    /// <param name="modelPath">The model zip.</param>
    /// <param name="options">Batching, queue, thread and device settings; the defaults are documented on each.</param>
    /// <param name="mlContext">The context to load the zip with; a new one by default.</param>
    /// <returns>The service. It owns an ONNX Runtime session: dispose it when done.</returns>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="modelPath"/>.</exception>
    /// <exception cref="InvalidDataException">The zip holds no featurizer of GoodTransfer.ML; the message says why.</exception>
    /// <exception cref="NotSupportedException">The featurizer's preprocessing is not ImageNet's.</exception>
    /// <exception cref="GpuUnavailableException">A GPU was asked for, cannot be used, and <see cref="FeaturizerServiceOptions.FallbackToCpu"/> is off.</exception>
    public static FeaturizerService Load(string modelPath, FeaturizerServiceOptions? options = null, MLContext? mlContext = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        options = Check(options);
        var path = Path.GetFullPath(modelPath);
        var name = Path.GetFileName(path);
        var saved = SavedFeaturizerModel.Load(mlContext ?? new MLContext(), path, options.PredictedLabelColumnName, options.ScoreColumnName);
        FeatureSession? session = null;
        try
        {
            var calls = new InFlightGuard($"{nameof(FeaturizerService)} ({name})", $"{nameof(FeaturizerService)} ({name}) was disposed: its ONNX Runtime session is released.");
            var settings = new SessionSettings(options.BatchSize ?? GoodTransferDefaults.BatchSize, options.CpuThreads, options.GpuDeviceId, options.FallbackToCpu);
            session = FeatureSession.Open(saved.BatchedModel, settings, calls, FeatureSessionUse.ServiceBatches);
            var owned = session;
            return new FeaturizerService(name, session, SavedFeaturizerModel.Transform, settings.BatchSize, options, saved.Downstream, saved.WhyNoPrediction, () =>
            {
                calls.Close(owned.Dispose);
                saved.Dispose();
            });
        }
        catch
        {
            session?.Dispose();
            saved.Dispose();
            throw;
        }
    }

    /// <summary>The features of one encoded image (JPEG, PNG, or any format the featurizer decodes).</summary>
    /// <param name="image">The file's bytes; the service reads them before the returned task completes, so keep them unchanged until then.</param>
    /// <param name="cancellationToken">Cancels the call; while it waits in the queue, it is removed and never run.</param>
    /// <returns>The <see cref="FeatureSize"/> features.</returns>
    /// <exception cref="InvalidImageException">The bytes are not an image that can be decoded; the message says why.</exception>
    /// <exception cref="ServiceOverloadedException">The queue is full.</exception>
    /// <exception cref="ServiceStoppedException">The service is stopping or stopped.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<float[]> FeaturizeAsync(ReadOnlyMemory<byte> image, CancellationToken cancellationToken = default) =>
        (await SubmitAsync(FromBytes(image, predict: false), false, cancellationToken).ConfigureAwait(false)).Features;

    /// <summary>The features of an ML.NET image, converted when called (the caller may dispose it once this returns its task).</summary>
    /// <inheritdoc cref="FeaturizeAsync(ReadOnlyMemory{byte}, CancellationToken)"/>
    public async Task<float[]> FeaturizeAsync(MLImage image, CancellationToken cancellationToken = default) =>
        (await SubmitAsync(FromImage(image, predict: false), false, cancellationToken).ConfigureAwait(false)).Features;

    /// <summary>The features of an image file.</summary>
    /// <param name="path">The file; read when its batch is made.</param>
    /// <param name="cancellationToken">Cancels the call; while it waits in the queue, it is removed and never run.</param>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <inheritdoc cref="FeaturizeAsync(ReadOnlyMemory{byte}, CancellationToken)"/>
    public async Task<float[]> FeaturizeFileAsync(string path, CancellationToken cancellationToken = default) =>
        (await SubmitAsync(FromFile(path, predict: false), false, cancellationToken).ConfigureAwait(false)).Features;

    /// <summary>The saved classifier's prediction for one encoded image: its class, the score of each class, and its features.</summary>
    /// <param name="image">The file's bytes; the service reads them before the returned task completes, so keep them unchanged until then.</param>
    /// <param name="cancellationToken">Cancels the call; while it waits in the queue, it is removed and never run.</param>
    /// <exception cref="InvalidOperationException">The service cannot predict (<see cref="CanPredict"/>); the message says why.</exception>
    /// <exception cref="InvalidImageException">The bytes are not an image that can be decoded; the message says why.</exception>
    /// <exception cref="ServiceOverloadedException">The queue is full.</exception>
    /// <exception cref="ServiceStoppedException">The service is stopping or stopped.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ImagePrediction> PredictAsync(ReadOnlyMemory<byte> image, CancellationToken cancellationToken = default) =>
        (await SubmitAsync(FromBytes(image, predict: true), true, cancellationToken).ConfigureAwait(false)).Prediction!;

    /// <summary>The saved classifier's prediction for an ML.NET image, converted when called.</summary>
    /// <inheritdoc cref="PredictAsync(ReadOnlyMemory{byte}, CancellationToken)"/>
    public async Task<ImagePrediction> PredictAsync(MLImage image, CancellationToken cancellationToken = default) =>
        (await SubmitAsync(FromImage(image, predict: true), true, cancellationToken).ConfigureAwait(false)).Prediction!;

    /// <summary>The saved classifier's prediction for an image file.</summary>
    /// <param name="path">The file; read when its batch is made.</param>
    /// <param name="cancellationToken">Cancels the call; while it waits in the queue, it is removed and never run.</param>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <inheritdoc cref="PredictAsync(ReadOnlyMemory{byte}, CancellationToken)"/>
    public async Task<ImagePrediction> PredictFileAsync(string path, CancellationToken cancellationToken = default) =>
        (await SubmitAsync(FromFile(path, predict: true), true, cancellationToken).ConfigureAwait(false)).Prediction!;

    /// <summary>
    /// Takes no new requests (they fail with <see cref="ServiceStoppedException"/>), and completes once every
    /// request accepted has been answered. Cancelling <paramref name="cancellationToken"/> stops waiting: the
    /// requests still queued then fail with <see cref="ServiceStoppedException"/>, and the batch running ends.
    /// Calling it again waits for the same stop.
    /// </summary>
    /// <param name="cancellationToken">Gives up waiting for the queue to empty.</param>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (stopGate)
        {
            return stopped ??= batcher.StopAsync(cancellationToken);
        }
    }

    /// <summary>Stops (<see cref="StopAsync"/>: the requests accepted finish), then releases what the service owns.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        release?.Invoke();
    }

    /// <summary>As <see cref="DisposeAsync"/>, blocking until the requests accepted have finished.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static FeaturizerServiceOptions Check(FeaturizerServiceOptions? options)
    {
        options ??= new FeaturizerServiceOptions();
        if (options.BatchSize is < 1 or > GoodTransferDefaults.MaxBatchSize)
        {
            throw OptionErrors.OutOfRange(nameof(options.BatchSize), options.BatchSize, $"BatchSize must be between 1 and {GoodTransferDefaults.MaxBatchSize}, or null for the featurizer's.");
        }

        if (options.MaxBatchDelay < TimeSpan.Zero || options.MaxBatchDelay > TimeSpan.FromMinutes(1))
        {
            throw OptionErrors.OutOfRange(nameof(options.MaxBatchDelay), options.MaxBatchDelay, "MaxBatchDelay must be between zero and one minute (a few milliseconds is usual).");
        }

        if (options.MaxQueueLength < 1)
        {
            throw OptionErrors.OutOfRange(nameof(options.MaxQueueLength), options.MaxQueueLength, "MaxQueueLength must be at least 1.");
        }

        if (options.CpuThreads is < 1)
        {
            throw OptionErrors.OutOfRange(nameof(options.CpuThreads), options.CpuThreads, "CpuThreads must be at least 1, or null to let ONNX Runtime use every core.");
        }

        if (string.IsNullOrWhiteSpace(options.PredictedLabelColumnName) || string.IsNullOrWhiteSpace(options.ScoreColumnName))
        {
            throw OptionErrors.Invalid(string.IsNullOrWhiteSpace(options.ScoreColumnName) ? nameof(options.ScoreColumnName) : nameof(options.PredictedLabelColumnName), "PredictedLabelColumnName and ScoreColumnName must name columns.");
        }
        return options;
    }

    private static ServingRequest FromBytes(ReadOnlyMemory<byte> image, bool predict) =>
        new((transform, tensor) => transform.BytesToTensor(image.Span, $"the request's image ({image.Length} bytes)", tensor), predict);

    private static ServingRequest FromFile(string path, bool predict)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new ServingRequest((transform, tensor) => transform.FileToTensor(path, tensor), predict);
    }

    private static ServingRequest FromImage(MLImage image, bool predict)
    {
        ArgumentNullException.ThrowIfNull(image);
        var converted = ImageDecoder.FromMLImage(image, "the request's image");
        return new ServingRequest((transform, tensor) => transform.ToTensor(converted, tensor), predict);
    }

    private Task<ServedResult> SubmitAsync(ServingRequest request, bool predict, CancellationToken cancellationToken)
    {
        if (predict && downstream is null)
        {
            throw new InvalidOperationException($"The featurizer service '{Name}' cannot predict: {whyNoPrediction}.");
        }

        return batcher.SubmitAsync(request, cancellationToken);
    }
}
