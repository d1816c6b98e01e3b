using System.Buffers.Binary;

namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// Sequential, buffered, bounds-checked reads of one pickle inside a checkpoint file. Every length
/// read from the file is checked against the bytes that remain before anything is allocated.
/// </summary>
internal sealed class PickleInput
{
    private const int BufferSize = 64 * 1024;
    private const int MaxLineLength = 64 * 1024;

    private readonly CheckpointSource source;
    private readonly byte[] buffer;
    private long bufferStart;
    private int bufferLength;

    public PickleInput(CheckpointSource source, long start, long end, string entry)
    {
        this.source = source;
        Entry = entry;
        Start = start;
        End = end;
        Position = start;
        buffer = new byte[(int)Math.Min(BufferSize, Math.Max(1, end - start))];
        bufferStart = start;
    }

    public string Entry { get; }

    public string FilePath => source.Path;

    public long Start { get; }

    public long End { get; }

    /// <summary>Absolute position in the file.</summary>
    public long Position { get; private set; }

    public long Remaining => End - Position;

    /// <summary>Position relative to the start of the pickle, for error messages.</summary>
    public long Offset => Position - Start;

    public CheckpointFormatException Error(string reason) => source.Error(reason, Entry, Offset);

    public byte ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        Fill(one);
        return one[0];
    }

    public ushort ReadUInt16()
    {
        Span<byte> bytes = stackalloc byte[2];
        Fill(bytes);
        return BinaryPrimitives.ReadUInt16LittleEndian(bytes);
    }

    public int ReadInt32()
    {
        Span<byte> bytes = stackalloc byte[4];
        Fill(bytes);
        return BinaryPrimitives.ReadInt32LittleEndian(bytes);
    }

    public uint ReadUInt32()
    {
        Span<byte> bytes = stackalloc byte[4];
        Fill(bytes);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    public long ReadInt64()
    {
        Span<byte> bytes = stackalloc byte[8];
        Fill(bytes);
        return BinaryPrimitives.ReadInt64LittleEndian(bytes);
    }

    public double ReadDoubleBigEndian()
    {
        Span<byte> bytes = stackalloc byte[8];
        Fill(bytes);
        return BinaryPrimitives.ReadDoubleBigEndian(bytes);
    }

    /// <summary>Reads <paramref name="count"/> bytes after checking that the pickle still holds that many.</summary>
    public byte[] ReadBytes(long count)
    {
        if (count < 0 || count > Remaining)
        {
            throw Error($"a length of {count} bytes runs past the end of the pickle ({Remaining} bytes remain)");
        }

        // A legacy pickle runs to the end of the file, so Remaining alone does not bound the allocation.
        if (count > ReaderLimits.MaxPickleBytes)
        {
            throw Error($"a value of {count} bytes (at most {ReaderLimits.MaxPickleBytes})");
        }

        var bytes = new byte[count];
        Fill(bytes);
        return bytes;
    }

    /// <summary>Reads up to a newline (protocol 0 text arguments), without the newline.</summary>
    public byte[] ReadLine()
    {
        var line = new List<byte>();
        while (true)
        {
            var next = ReadByte();
            if (next == (byte)'\n')
            {
                return [.. line];
            }

            if (line.Count >= MaxLineLength)
            {
                throw Error("a text argument has no end of line");
            }

            line.Add(next);
        }
    }

    private void Fill(Span<byte> destination)
    {
        if (destination.Length > Remaining)
        {
            throw Error("unexpected end of the pickle (the file is truncated or corrupted)");
        }

        var done = 0;
        while (done < destination.Length)
        {
            var inBuffer = Position - bufferStart;
            if (inBuffer < 0 || inBuffer >= bufferLength)
            {
                bufferStart = Position;
                bufferLength = (int)Math.Min(buffer.Length, End - Position);
                source.Read(bufferStart, buffer.AsSpan(0, bufferLength), Entry);
                inBuffer = 0;
            }

            var take = (int)Math.Min(destination.Length - done, bufferLength - inBuffer);
            buffer.AsSpan((int)inBuffer, take).CopyTo(destination[done..]);
            done += take;
            Position += take;
        }
    }
}
