using GoodTransfer.ML.Onnx.Proto;
using Google.Protobuf;

namespace GoodTransfer.ML.Onnx;

/// <summary>
/// Writes an ONNX model to disk atomically: a reader of the destination sees the old file or the
/// complete new one, never a partial write.
/// </summary>
internal static class OnnxModelWriter
{
    // Protobuf writes through a small buffer of its own; a large file buffer keeps the system calls few.
    private const int FileBufferSize = 1 << 20;

    /// <summary>
    /// Streams the model to a unique temporary file in the destination's folder, flushes it to disk,
    /// then moves it over the destination. On failure the temporary file is deleted and an existing
    /// file at the destination is left as it was.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="path">The destination; its folder is created if needed.</param>
    public static void Write(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        WriteAtomically(path, model.WriteTo);
    }

    /// <summary>Writes whatever <paramref name="writeContent"/> writes, atomically, as <see cref="Write"/> does.</summary>
    /// <param name="path">The destination; its folder is created if needed.</param>
    /// <param name="writeContent">Writes the file's content to the stream it is given.</param>
    internal static void WriteAtomically(string path, Action<Stream> writeContent)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(writeContent);

        var fullPath = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{path}' names no file.", nameof(path));
        Directory.CreateDirectory(folder);

        // Same folder, so the final move is a rename within one file system.
        var temporary = Path.Combine(folder, $"{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        var moved = false;
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileBufferSize))
            {
                writeContent(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
            moved = true;
        }
        finally
        {
            if (!moved)
            {
                DeleteQuietly(temporary);
            }
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The write has already failed; its exception says more than this one would.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
