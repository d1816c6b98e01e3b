using System.Buffers;
using System.Runtime.InteropServices;

namespace GoodTransfer.ML.Onnx;

/// <summary>
/// The bytes of a <see cref="float"/> array as <see cref="Memory{T}"/> of <see cref="byte"/>, without a
/// copy, so that a protobuf <c>ByteString</c> (an ONNX initializer's <c>raw_data</c>) can be a view of a
/// weight array. The bytes are in the machine's byte order.
/// </summary>
/// <remarks>
/// Holds no native resource: the array is pinned only for the lifetime of a handle returned by
/// <see cref="Pin"/>, and that handle unpins it when disposed.
/// </remarks>
internal sealed class FloatArrayByteMemory : MemoryManager<byte>
{
    private readonly float[] array;

    /// <summary>Wraps an array; later writes to the array show through.</summary>
    /// <param name="array">The array.</param>
    public FloatArrayByteMemory(float[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        this.array = array;
    }

    /// <inheritdoc/>
    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan());

    /// <summary>Pins the array and returns a handle to the byte at <paramref name="elementIndex"/>.</summary>
    /// <param name="elementIndex">A byte offset; it must fall on a float boundary.</param>
    /// <returns>A handle that unpins the array when disposed.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The offset is outside the array.</exception>
    /// <exception cref="NotSupportedException">The offset is not a multiple of four.</exception>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        // MemoryHandle can only be made from a raw pointer, which needs unsafe code (not allowed in this
        // library); pinning the float array at the same address gives the handle without it. Protobuf
        // only reads the bytes through spans and never pins them.
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, array.Length * sizeof(float));
        if (elementIndex % sizeof(float) != 0)
        {
            throw new NotSupportedException("The bytes of a float array can only be pinned at a multiple of four bytes.");
        }

        return array.AsMemory(elementIndex / sizeof(float)).Pin();
    }

    /// <summary>Does nothing: handles from <see cref="Pin"/> unpin the array themselves.</summary>
    public override void Unpin()
    {
    }

    /// <summary>Does nothing: there is nothing to release.</summary>
    /// <param name="disposing">Unused.</param>
    protected override void Dispose(bool disposing)
    {
    }
}
