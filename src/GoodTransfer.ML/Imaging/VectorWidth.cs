using System.Runtime.Intrinsics;

namespace GoodTransfer.ML.Imaging;

/// <summary>
/// The widest SIMD vectors that a pixel loop uses. Every width gives the same bytes (the loops are integer
/// arithmetic, or one IEEE division per value); the tests run each width this machine has against the scalar
/// loops to show it.
/// </summary>
internal enum VectorWidth
{
    /// <summary>Scalar loops only.</summary>
    None = 0,

    /// <summary><see cref="Vector128{T}"/>: SSE4.1 on x64, AdvSIMD on Arm64.</summary>
    Bits128 = 128,

    /// <summary><see cref="Vector256{T}"/>: AVX2.</summary>
    Bits256 = 256,

    /// <summary><see cref="Vector512{T}"/>: AVX-512.</summary>
    Bits512 = 512,
}

/// <summary>Which <see cref="VectorWidth"/>s this machine runs in hardware.</summary>
internal static class VectorWidths
{
    /// <summary>The widest width accelerated here; <see cref="VectorWidth.None"/> where not even 128-bit vectors are.</summary>
    public static VectorWidth Widest { get; } =
        Vector512.IsHardwareAccelerated ? VectorWidth.Bits512
        : Vector256.IsHardwareAccelerated ? VectorWidth.Bits256
        : Vector128.IsHardwareAccelerated ? VectorWidth.Bits128
        : VectorWidth.None;

    /// <summary>Every width accelerated here, <see cref="VectorWidth.None"/> first.</summary>
    public static IReadOnlyList<VectorWidth> Accelerated { get; } =
        [.. Enum.GetValues<VectorWidth>().Where(width => width <= Widest)];
}
