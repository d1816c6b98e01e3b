namespace GoodTransfer.ML;

/// <summary>
/// A CUDA device was asked for (<see cref="GoodTransferOptions.GpuDeviceId"/>) with
/// <see cref="GoodTransferOptions.FallbackToCpu"/> off, and ONNX Runtime's CUDA execution provider
/// cannot run on it. The message names the device, ONNX Runtime's reason and what to do; the inner
/// exception is ONNX Runtime's.
/// </summary>
public sealed class GpuUnavailableException : InvalidOperationException
{
    /// <summary>Creates an exception with a default message.</summary>
    public GpuUnavailableException()
        : base("The CUDA device cannot be used.")
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public GpuUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public GpuUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception that names the device and ONNX Runtime's reason.</summary>
    /// <param name="deviceId">The CUDA device asked for.</param>
    /// <param name="innerException">ONNX Runtime's exception.</param>
    internal GpuUnavailableException(int deviceId, Exception innerException)
        : base(
            $"CUDA device {deviceId} was asked for (GpuDeviceId = {deviceId}, FallbackToCpu = false) but ONNX Runtime's CUDA execution provider cannot be used: {innerException.Message.Trim().TrimEnd('.')}. {GpuAdvice.ForThisPackage}",
            innerException)
    {
        DeviceId = deviceId;
    }

    /// <summary>The CUDA device asked for; -1 when not known.</summary>
    public int DeviceId { get; } = -1;
}

/// <summary>What to do when CUDA cannot be used, which depends on the package this assembly came from.</summary>
internal static class GpuAdvice
{
#if GOODTRANSFER_GPU
    public const string PackageName = "GoodTransfer.ML.Gpu";

    public const string ForThisPackage =
        "This is the GoodTransfer.ML.Gpu package: check that the NVIDIA driver, CUDA 13 (ONNX Runtime 1.31 loads libcudart.so.13, libcublas.so.13 and libcublasLt.so.13) and cuDNN 9 are installed and their libraries on the library path (LD_LIBRARY_PATH, or PATH on Windows), and that the device exists (nvidia-smi). Or set FallbackToCpu = true to run on the CPU.";
#else
    public const string PackageName = "GoodTransfer.ML";

    public const string ForThisPackage =
        "This is the CPU package GoodTransfer.ML, whose ONNX Runtime has no CUDA provider: reference GoodTransfer.ML.Gpu instead (not both), or set FallbackToCpu = true to run on the CPU.";
#endif
}
