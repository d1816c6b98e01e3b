namespace GoodTransfer.ML.Runtime;

/// <summary>Where and how the featurizer's ONNX sessions run, fixed once when an estimator is made.</summary>
/// <param name="BatchSize">Images per network run on the fast path.</param>
/// <param name="CpuThreads">ONNX Runtime's intra-op threads on the CPU; <see langword="null"/> for every core.</param>
/// <param name="GpuDeviceId">The CUDA device asked for; <see langword="null"/> for the CPU.</param>
/// <param name="FallbackToCpu">Whether to run on the CPU when the GPU cannot be used.</param>
internal sealed record SessionSettings(int BatchSize, int? CpuThreads, int? GpuDeviceId, bool FallbackToCpu);
