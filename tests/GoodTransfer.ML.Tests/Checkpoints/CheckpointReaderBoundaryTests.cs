using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Checkpoints;

/// <summary>
/// Malformed files that used to reach the reader's boundary as a low-level exception (an overflow,
/// an allocation sized by the file) or to pass unnoticed are now refused where the check fails,
/// naming the place. The files are small legacy checkpoints written here byte by byte.
/// </summary>
public sealed class CheckpointReaderBoundaryTests
{
    [Fact]
    public void Handmade_legacy_checkpoint_reads_so_the_refusals_below_test_one_fault_each()
    {
        using var file = new TemporaryFile(LegacyFile(TensorPickle(storageElements: 2, size: [2], stride: [1]), storageElements: 2, storageData: [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]));

        var stateDict = CheckpointReader.Read(file.Path);

        var tensor = Assert.Single(stateDict.Tensors);
        Assert.Equal("conv1.weight", tensor.Name);
        Assert.Equal([1f, 2f], tensor.Data);
    }

    [Fact]
    public void Legacy_storage_whose_byte_size_overflows_64_bits_is_refused_naming_the_storage()
    {
        const long elements = 1L << 62;
        using var file = new TemporaryFile(LegacyFile(TensorPickle(elements, size: [1], stride: [1]), elements, storageData: []));

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Read(file.Path));

        Assert.Equal("legacy storage '0'", error.Entry);
        Assert.NotNull(error.Offset);
        Assert.Contains($"storage '0' needs {elements} elements of 4 bytes but the file ends first", error.Message, StringComparison.Ordinal);
        Assert.Contains(file.Path, error.Message, StringComparison.Ordinal);
        Assert.Null(error.InnerException);
    }

    [Fact]
    public void Empty_tensor_with_a_dimension_beyond_int_range_is_refused_naming_the_tensor()
    {
        using var file = new TemporaryFile(LegacyFile(TensorPickle(storageElements: 0, size: [0, 1L << 32], stride: [1, 1]), storageElements: 0, storageData: []));

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Read(file.Path));

        Assert.Equal("tensor 'conv1.weight'", error.Entry);
        Assert.Contains($"the tensor has a dimension of {1L << 32} (at most {int.MaxValue})", error.Message, StringComparison.Ordinal);
        Assert.Null(error.InnerException);
    }

    [Fact]
    public void Legacy_pickle_value_larger_than_the_pickle_limit_is_refused_before_it_is_allocated()
    {
        // BINBYTES8 with a length one past the limit. A legacy pickle runs to the end of the file, so the
        // file is made that long (sparse where the file system allows): only the limit can refuse it.
        var length = (long)ReaderLimits.MaxPickleBytes + 1;
        var main = new byte[11];
        main[0] = 0x80;
        main[1] = 2;
        main[2] = 0x8e;
        BinaryPrimitives.WriteInt64LittleEndian(main.AsSpan(3), length);
        var head = LegacyHead();
        using var file = new TemporaryFile([.. head, .. main]);
        using (var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(head.Length + main.Length + length);
        }

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Read(file.Path));

        Assert.Equal("legacy main pickle", error.Entry);
        Assert.Equal(main.Length, error.Offset);
        Assert.Contains($"a value of {length} bytes (at most {ReaderLimits.MaxPickleBytes})", error.Message, StringComparison.Ordinal);
        Assert.Null(error.InnerException);
    }

    /// <summary>The three pickles a legacy file starts with: PyTorch's magic number, protocol 1001, an empty sys_info.</summary>
    private static byte[] LegacyHead()
    {
        var magic = BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture).ToByteArray();
        return
        [
            0x80, 2, 0x8a, (byte)magic.Length, .. magic, (byte)'.',
            0x80, 2, (byte)'M', 0xe9, 0x03, (byte)'.',
            0x80, 2, (byte)'}', (byte)'.',
        ];
    }

    /// <summary>A legacy file whose main pickle is <paramref name="main"/> and whose one storage, key '0', holds <paramref name="storageData"/>.</summary>
    private static byte[] LegacyFile(byte[] main, long storageElements, byte[] storageData)
    {
        var count = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(count, storageElements);
        byte[] keys = [0x80, 2, (byte)']', .. Text("0"), (byte)'a', (byte)'.'];
        return [.. LegacyHead(), .. main, .. keys, .. count, .. storageData];
    }

    /// <summary>
    /// <c>{'conv1.weight': _rebuild_tensor_v2(storage, 0, size, stride, False, None)}</c>, the storage
    /// being the legacy persistent id <c>('storage', torch.FloatStorage, '0', 'cpu', storageElements, None)</c>.
    /// </summary>
    private static byte[] TensorPickle(long storageElements, long[] size, long[] stride)
    {
        var pickle = new List<byte> { 0x80, 2, (byte)'}' };
        pickle.AddRange(Text("conv1.weight"));
        pickle.AddRange(Encoding.ASCII.GetBytes("ctorch._utils\n_rebuild_tensor_v2\n"));
        pickle.Add((byte)'(');
        pickle.Add((byte)'(');
        pickle.AddRange(Text("storage"));
        pickle.AddRange(Encoding.ASCII.GetBytes("ctorch\nFloatStorage\n"));
        pickle.AddRange(Text("0"));
        pickle.AddRange(Text("cpu"));
        pickle.AddRange(Integer(storageElements));
        pickle.AddRange("Nt"u8.ToArray());
        pickle.Add((byte)'Q');
        pickle.AddRange(Integer(0));
        pickle.AddRange(IntegerTuple(size));
        pickle.AddRange(IntegerTuple(stride));
        pickle.AddRange([0x89, (byte)'N', (byte)'t', (byte)'R', (byte)'s', (byte)'.']);
        return [.. pickle];
    }

    private static byte[] Text(string value) => [0x8c, (byte)value.Length, .. Encoding.ASCII.GetBytes(value)];

    /// <summary>LONG1 with 8 bytes: any long.</summary>
    private static byte[] Integer(long value)
    {
        var bytes = new byte[10];
        bytes[0] = 0x8a;
        bytes[1] = 8;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(2), value);
        return bytes;
    }

    private static byte[] IntegerTuple(long[] values) => [(byte)'(', .. values.SelectMany(Integer), (byte)'t'];
}
