using System.Runtime.InteropServices;
using GoodTransfer.ML.Onnx;

namespace GoodTransfer.ML.Tests.Onnx;

public class FloatArrayByteMemoryTests
{
    [Fact]
    public void Bytes_are_the_arrays_own_storage()
    {
        float[] values = [1.5f, -2f, 3.25f];
        using var memory = new FloatArrayByteMemory(values);

        Assert.Equal(MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), memory.Memory.ToArray());
        values[1] = 42f;
        Assert.Equal(42f, BitConverter.ToSingle(memory.Memory.Span[4..]));
    }

    [Fact]
    public void Pins_at_a_float_boundary_only()
    {
        float[] values = [1f, 2f];
        using var memory = new FloatArrayByteMemory(values);

        using (memory.Memory[4..].Pin())
        {
        }

        Assert.Throws<NotSupportedException>(() => memory.Memory[2..].Pin());
    }
}
