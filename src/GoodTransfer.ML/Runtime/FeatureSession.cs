using Microsoft.ML.OnnxRuntime;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// An ONNX Runtime session over the batched featurizer graph (input <c>image</c> [N, 3, 224, 224],
/// output <c>features</c> [N, C]), on the CPU or on a CUDA device.
/// </summary>
/// <remarks>
/// <para>
/// On the CPU it holds two sessions of the same model, each opened when first used: one on
/// <see cref="CpuThreads"/> threads for <see cref="Run"/> (a service's batches), and one on a single thread for
/// <see cref="RunOnCallingThread"/> (the data view's batches, one per core). <see cref="Open(string, SessionSettings, InFlightGuard, FeatureSessionUse, Action{string}?)"/>
/// opens the one its owner uses at once, so that errors in the model show there and the first batch does not wait.
/// </para>
/// <para>
/// Owns native sessions: must be disposed; <see cref="GoodTransferTransformer"/> disposes it, through the
/// guard it shares with the session, once no run is in flight. <see cref="Run"/> and <see cref="RunOnCallingThread"/>
/// may be called from several threads at once (ONNX Runtime's <c>Run</c> is thread-safe).
/// </para>
/// </remarks>
internal sealed class FeatureSession : IDisposable
{
    private readonly Lazy<InferenceSession> threaded;
    private readonly Lazy<InferenceSession>? singleThreaded;
    private readonly RunOptions runOptions = new();
    private readonly InFlightGuard calls;

    private FeatureSession(Lazy<InferenceSession> threaded, Lazy<InferenceSession>? singleThreaded, int imageSize, int featureSize, int? gpuDeviceId, int cpuThreads, InFlightGuard calls)
    {
        this.threaded = threaded;
        this.singleThreaded = singleThreaded;
        this.calls = calls;
        ImageSize = imageSize;
        FeatureSize = featureSize;
        GpuDeviceId = gpuDeviceId;
        CpuThreads = cpuThreads;
    }

    /// <summary>S, the height and width of the images the model takes (<c>[N, 3, S, S]</c>): the preprocessing's crop size.</summary>
    public int ImageSize { get; }

    /// <summary>Floats in one image's tensor, <c>3 x S x S</c>.</summary>
    public int TensorLength => 3 * ImageSize * ImageSize;

    /// <summary>C, the length of each feature vector.</summary>
    public int FeatureSize { get; }

    /// <summary>The cores the featurizer uses on the CPU: <see cref="GoodTransferOptions.CpuThreads"/>, or every core.</summary>
    public int CpuThreads { get; }

    /// <summary>The CUDA device the session runs on, or <see langword="null"/> on the CPU.</summary>
    public int? GpuDeviceId { get; }

    /// <summary>Opens the model on the device the options ask for.</summary>
    /// <param name="modelPath">The batched ONNX model.</param>
    /// <param name="settings">The device, fallback and thread settings.</param>
    /// <param name="calls">The owner's guard: each <see cref="Run"/> is a call in flight, refused once the owner is disposed.</param>
    /// <param name="warn">Told why the GPU was given up for the CPU, when it is.</param>
    /// <exception cref="GpuUnavailableException">A GPU was asked for, cannot be used, and <see cref="GoodTransferOptions.FallbackToCpu"/> is off.</exception>
    /// <param name="use">Which runs the owner makes, whose session is opened at once.</param>
    public static FeatureSession Open(string modelPath, SessionSettings settings, InFlightGuard calls, FeatureSessionUse use, Action<string>? warn = null) =>
        Open(options => new InferenceSession(modelPath, options), settings, calls, use, warn);

    /// <summary>Opens the model held in <paramref name="model"/> (the batched graph's bytes) on the device the settings ask for.</summary>
    /// <param name="model">The batched ONNX model, serialized.</param>
    /// <param name="settings">The device, fallback and thread settings.</param>
    /// <param name="calls">The owner's guard: each <see cref="Run"/> is a call in flight, refused once the owner is disposed.</param>
    /// <param name="warn">Told why the GPU was given up for the CPU, when it is.</param>
    /// <exception cref="GpuUnavailableException">A GPU was asked for, cannot be used, and <see cref="SessionSettings.FallbackToCpu"/> is off.</exception>
    /// <param name="use">Which runs the owner makes, whose session is opened at once.</param>
    public static FeatureSession Open(byte[] model, SessionSettings settings, InFlightGuard calls, FeatureSessionUse use, Action<string>? warn = null) =>
        Open(options => new InferenceSession(model, options), settings, calls, use, warn);

    private static FeatureSession Open(Func<SessionOptions, InferenceSession> load, SessionSettings settings, InFlightGuard calls, FeatureSessionUse use, Action<string>? warn)
    {
        if (settings.GpuDeviceId is int device)
        {
            try
            {
                return Create(load, settings, device, calls, use);
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                if (!settings.FallbackToCpu)
                {
                    throw new GpuUnavailableException(device, e);
                }

                warn?.Invoke($"CUDA device {device} cannot be used, so the featurizer runs on the CPU (FallbackToCpu = true): {e.Message.Trim()} ({GpuAdvice.PackageName} package)");
            }
        }

        return Create(load, settings, gpuDevice: null, calls, use);
    }

    /// <summary>Whether <paramref name="error"/>, from opening a model here or in ML.NET's OnnxTransformer, says ONNX Runtime cannot load the file.</summary>
    public static bool IsUnloadableModel(Exception error) => error is OnnxRuntimeException || error.InnerException is OnnxRuntimeException;

    /// <summary>Runs <paramref name="count"/> images of <paramref name="images"/> and writes their features into <paramref name="features"/>.</summary>
    /// <exception cref="ObjectDisposedException">The owner is disposed; the message names it.</exception>
    public void Run(float[] images, int count, float[] features)
    {
        using var call = calls.Enter();
        RunIn(threaded.Value, images, count, features);
    }

    /// <summary>Releases the native sessions; the owner calls it once no <see cref="Run"/> is in flight.</summary>
    public void Dispose()
    {
        runOptions.Dispose();
        if (threaded.IsValueCreated)
        {
            threaded.Value.Dispose();
        }

        if (singleThreaded?.IsValueCreated == true)
        {
            singleThreaded.Value.Dispose();
        }
    }

    private void RunIn(InferenceSession target, float[] images, int count, float[] features)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(
            OrtMemoryInfo.DefaultInstance,
            images.AsMemory(0, count * TensorLength),
            [count, 3, ImageSize, ImageSize]);
        using var output = OrtValue.CreateTensorValueFromMemory(
            OrtMemoryInfo.DefaultInstance,
            features.AsMemory(0, count * FeatureSize),
            [count, FeatureSize]);
        target.Run(runOptions, [Onnx.ResNetGraphBuilder.InputName], [input], [Onnx.ResNetGraphBuilder.OutputName], [output]);
    }

    /// <summary>
    /// Runs the images as <see cref="Run"/> does, but on the calling thread alone (the CPU session with one
    /// intra-op thread): one such call per core, each on a batch of its own, keeps every core busy without the
    /// barriers of a multi-threaded run, and leaves each core's own batch to decode between runs. The features are bit-identical to <see cref="Run"/>'s (ONNX Runtime's CPU
    /// kernels do not split a sum between threads; a test holds them to it).
    /// </summary>
    /// <exception cref="InvalidOperationException">The session runs on a GPU, which has no such second session.</exception>
    /// <exception cref="ObjectDisposedException">The owner is disposed; the message names it.</exception>
    public void RunOnCallingThread(float[] images, int count, float[] features)
    {
        using var call = calls.Enter();
        var target = singleThreaded?.Value ?? throw new InvalidOperationException("A session on a GPU has no single-threaded CPU session.");
        RunIn(target, images, count, features);
    }

    /// <summary>Opens the session of <paramref name="use"/>'s runs now, if it is not open yet, so that the first of them does not wait for it.</summary>
    /// <exception cref="ObjectDisposedException">The owner is disposed; the message names it.</exception>
    public void EnsureOpen(FeatureSessionUse use)
    {
        using var call = calls.Enter();
        _ = SessionFor(use, threaded, singleThreaded).Value;
    }

    /// <summary>Whether the session of <see cref="Run"/> and that of <see cref="RunOnCallingThread"/> are open (the tests check that only what is used is opened).</summary>
    internal (bool Threaded, bool SingleThreaded) Opened => (threaded.IsValueCreated, singleThreaded?.IsValueCreated == true);

    /// <summary>Throws the <see cref="ObjectDisposedException"/> naming the owner once it is disposed.</summary>
    public void ThrowIfDisposed() => calls.ThrowIfClosed();

    private static FeatureSession Create(Func<SessionOptions, InferenceSession> load, SessionSettings settings, int? gpuDevice, InFlightGuard calls, FeatureSessionUse use)
    {
        Lazy<InferenceSession> Lazily(int? threads) => new(
            () =>
            {
                using var options = Options(threads, gpuDevice);
                return load(options);
            },
            LazyThreadSafetyMode.ExecutionAndPublication);

        var threaded = Lazily(settings.CpuThreads);
        var singleThreaded = gpuDevice is null ? Lazily(1) : null;
        var opened = SessionFor(use, threaded, singleThreaded).Value;
        try
        {
            var input = opened.InputMetadata[Onnx.ResNetGraphBuilder.InputName].Dimensions;
            var output = opened.OutputMetadata[Onnx.ResNetGraphBuilder.OutputName].Dimensions;
            return new FeatureSession(threaded, singleThreaded, input[^1], output[^1], gpuDevice, settings.CpuThreads ?? Environment.ProcessorCount, calls);
        }
        catch
        {
            opened.Dispose();
            throw;
        }
    }

    /// <summary>The session whose runs <paramref name="use"/> makes: on a GPU there is only the one.</summary>
    private static Lazy<InferenceSession> SessionFor(FeatureSessionUse use, Lazy<InferenceSession> threaded, Lazy<InferenceSession>? singleThreaded) =>
        use == FeatureSessionUse.CoreBatches && singleThreaded is not null ? singleThreaded : threaded;

    private static SessionOptions Options(int? threads, int? gpuDevice)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (threads is int count)
        {
            sessionOptions.IntraOpNumThreads = count;
        }

        if (gpuDevice is null)
        {
            // Batches are decoded on the same cores between runs: threads that spin after a run would take
            // those cores from the decoder (measured: 2-3% more images/s without spinning).
            sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        if (gpuDevice is int device)
        {
            try
            {
                sessionOptions.AppendExecutionProvider_CUDA(device);
            }
            catch
            {
                sessionOptions.Dispose();
                throw;
            }
        }

        return sessionOptions;
    }
}

/// <summary>Which runs the owner of a <see cref="FeatureSession"/> makes, and so which of its sessions it opens at once.</summary>
internal enum FeatureSessionUse
{
    /// <summary>Batches of one data view per core (<see cref="FeatureSession.RunOnCallingThread"/>; on a GPU, <see cref="FeatureSession.Run"/>).</summary>
    CoreBatches,

    /// <summary>A service's batches, each on every core (<see cref="FeatureSession.Run"/>).</summary>
    ServiceBatches,
}
