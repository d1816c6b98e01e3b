using Microsoft.Win32.SafeHandles;

namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// A checkpoint file opened for positional reads. Every read is bounds-checked against the file's
/// length, and every failure becomes a <see cref="CheckpointFormatException"/> naming the file.
/// </summary>
/// <remarks>Owns a file handle: must be disposed.</remarks>
internal sealed class CheckpointSource : IDisposable
{
    private readonly SafeFileHandle handle;

    public CheckpointSource(string path)
    {
        Path = path;
        handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            Length = RandomAccess.GetLength(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public string Path { get; }

    public long Length { get; }

    public CheckpointFormatException Error(string reason, string? entry = null, long? offset = null) =>
        new(Path, reason, entry, offset);

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>, or refuses the file as truncated.</summary>
    public void Read(long offset, Span<byte> destination, string entry)
    {
        if (offset < 0 || offset > Length || destination.Length > Length - offset)
        {
            throw Error($"needs {destination.Length} bytes at offset {offset} but the file has {Length} (truncated or corrupted)", entry, offset);
        }

        var done = 0;
        while (done < destination.Length)
        {
            var read = RandomAccess.Read(handle, destination[done..], offset + done);
            if (read == 0)
            {
                throw Error("unexpected end of file (truncated)", entry, offset + done);
            }

            done += read;
        }
    }

    public byte[] ReadBytes(long offset, int count, string entry)
    {
        if (count < 0 || offset < 0 || offset > Length || count > Length - offset)
        {
            throw Error($"needs {count} bytes at offset {offset} but the file has {Length} (truncated or corrupted)", entry, offset);
        }

        var bytes = new byte[count];
        Read(offset, bytes, entry);
        return bytes;
    }

    public void Dispose() => handle.Dispose();
}
