using Microsoft.ML.OnnxRuntime;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// An ONNX Runtime session over the batched featurizer graph (input <c>image</c> [N, 3, 224, 224],
/// output <c>features</c> [N, C]), on the CPU or on a CUDA device.
/// </summary>
/// <remarks>
/// Owns a native session: must be disposed; <see cref="GoodTransferTransformer"/> disposes it, through the
/// guard it shares with the session, once no <see cref="Run"/> is in flight. <see cref="Run"/> may be called
/// from several threads at once (ONNX Runtime's <c>Run</c> is thread-safe).
/// </remarks>
internal sealed class FeatureSession : IDisposable
{
    private readonly InferenceSession session;
    private readonly RunOptions runOptions = new();
    private readonly InFlightGuard calls;

    private FeatureSession(InferenceSession session, int imageSize, int featureSize, int? gpuDeviceId, InFlightGuard calls)
    {
        this.session = session;
        this.calls = calls;
        ImageSize = imageSize;
        FeatureSize = featureSize;
        GpuDeviceId = gpuDeviceId;
    }

    /// <summary>S, the height and width of the images the model takes (<c>[N, 3, S, S]</c>): the preprocessing's crop size.</summary>
    public int ImageSize { get; }

    /// <summary>Floats in one image's tensor, <c>3 x S x S</c>.</summary>
    public int TensorLength => 3 * ImageSize * ImageSize;

    /// <summary>C, the length of each feature vector.</summary>
    public int FeatureSize { get; }

    /// <summary>The CUDA device the session runs on, or <see langword="null"/> on the CPU.</summary>
    public int? GpuDeviceId { get; }

    /// <summary>Opens the model on the device the options ask for.</summary>
    /// <param name="modelPath">The batched ONNX model.</param>
    /// <param name="settings">The device, fallback and thread settings.</param>
    /// <param name="calls">The owner's guard: each <see cref="Run"/> is a call in flight, refused once the owner is disposed.</param>
    /// <param name="warn">Told why the GPU was given up for the CPU, when it is.</param>
    /// <exception cref="GpuUnavailableException">A GPU was asked for, cannot be used, and <see cref="GoodTransferOptions.FallbackToCpu"/> is off.</exception>
    public static FeatureSession Open(string modelPath, SessionSettings settings, InFlightGuard calls, Action<string>? warn = null) =>
        Open(options => new InferenceSession(modelPath, options), settings, calls, warn);

    /// <summary>Opens the model held in <paramref name="model"/> (the batched graph's bytes) on the device the settings ask for.</summary>
    /// <param name="model">The batched ONNX model, serialized.</param>
    /// <param name="settings">The device, fallback and thread settings.</param>
    /// <param name="calls">The owner's guard: each <see cref="Run"/> is a call in flight, refused once the owner is disposed.</param>
    /// <param name="warn">Told why the GPU was given up for the CPU, when it is.</param>
    /// <exception cref="GpuUnavailableException">A GPU was asked for, cannot be used, and <see cref="SessionSettings.FallbackToCpu"/> is off.</exception>
    public static FeatureSession Open(byte[] model, SessionSettings settings, InFlightGuard calls, Action<string>? warn = null) =>
        Open(options => new InferenceSession(model, options), settings, calls, warn);

    private static FeatureSession Open(Func<SessionOptions, InferenceSession> load, SessionSettings settings, InFlightGuard calls, Action<string>? warn)
    {
        if (settings.GpuDeviceId is int device)
        {
            try
            {
                return Create(load, settings, device, calls);
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

        return Create(load, settings, gpuDevice: null, calls);
    }

    /// <summary>Whether <paramref name="error"/>, from opening a model here or in ML.NET's OnnxTransformer, says ONNX Runtime cannot load the file.</summary>
    public static bool IsUnloadableModel(Exception error) => error is OnnxRuntimeException || error.InnerException is OnnxRuntimeException;

    /// <summary>Runs <paramref name="count"/> images of <paramref name="images"/> and writes their features into <paramref name="features"/>.</summary>
    /// <exception cref="ObjectDisposedException">The owner is disposed; the message names it.</exception>
    public void Run(float[] images, int count, float[] features)
    {
        using var call = calls.Enter();
        using var input = OrtValue.CreateTensorValueFromMemory(
            OrtMemoryInfo.DefaultInstance,
            images.AsMemory(0, count * TensorLength),
            [count, 3, ImageSize, ImageSize]);
        using var output = OrtValue.CreateTensorValueFromMemory(
            OrtMemoryInfo.DefaultInstance,
            features.AsMemory(0, count * FeatureSize),
            [count, FeatureSize]);
        session.Run(runOptions, [Onnx.ResNetGraphBuilder.InputName], [input], [Onnx.ResNetGraphBuilder.OutputName], [output]);
    }

    /// <summary>Throws the <see cref="ObjectDisposedException"/> naming the owner once it is disposed.</summary>
    public void ThrowIfDisposed() => calls.ThrowIfClosed();

    /// <summary>Releases the native session; the owner calls it once no <see cref="Run"/> is in flight.</summary>
    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
    }

    private static FeatureSession Create(Func<SessionOptions, InferenceSession> load, SessionSettings settings, int? gpuDevice, InFlightGuard calls)
    {
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (settings.CpuThreads is int threads)
        {
            sessionOptions.IntraOpNumThreads = threads;
        }

        if (gpuDevice is null)
        {
            // Batches are decoded on the same cores between runs: threads that spin after a run would take
            // those cores from the decoder (measured: 2-3% more images/s without spinning).
            sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        if (gpuDevice is int device)
        {
            sessionOptions.AppendExecutionProvider_CUDA(device);
        }

        var session = load(sessionOptions);
        try
        {
            var input = session.InputMetadata[Onnx.ResNetGraphBuilder.InputName].Dimensions;
            var output = session.OutputMetadata[Onnx.ResNetGraphBuilder.OutputName].Dimensions;
            return new FeatureSession(session, input[^1], output[^1], gpuDevice, calls);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }
}
