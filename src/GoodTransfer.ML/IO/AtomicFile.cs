namespace GoodTransfer.ML.IO;

/// <summary>
/// Writes files atomically: a reader of the destination sees the old file or the complete new one, never a
/// partial write. Every file the library puts in place (converted models, SHA-256 records) goes through here.
/// </summary>
internal static class AtomicFile
{
    /// <summary>The suffix of the temporary files this class writes; a killed process can leave one behind.</summary>
    public const string TemporarySuffix = ".tmp";

    // Protobuf and text writers write through small buffers of their own; a large file buffer keeps the system calls few.
    private const int FileBufferSize = 1 << 20;

    /// <summary>
    /// Streams <paramref name="writeContent"/>'s bytes to a unique temporary file in the destination's folder,
    /// flushes it to disk, then moves it over the destination (a rename within one file system). On failure
    /// the temporary file is deleted and an existing file at the destination is left as it was.
    /// </summary>
    /// <param name="path">The destination; its folder is created if needed.</param>
    /// <param name="writeContent">Writes the file's content to the stream it is given.</param>
    /// <param name="recordSha256">
    /// Also write the content's <see cref="Sha256Record"/> beside the destination, before the move: whoever
    /// sees the new file sees its record. The hash is remembered (<see cref="FileHashes"/>), so this process
    /// does not hash the file again to verify it.
    /// </param>
    public static void Write(string path, Action<Stream> writeContent, bool recordSha256 = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(writeContent);

        var fullPath = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{path}' names no file.", nameof(path));
        Directory.CreateDirectory(folder);

        var temporary = TemporaryPathFor(fullPath);
        var moved = false;
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileBufferSize))
            {
                writeContent(stream);
                stream.Flush(flushToDisk: true);
            }

            var sha256 = recordSha256 ? Sha256Hex.OfFile(temporary) : null;
            if (sha256 is not null)
            {
                Sha256Record.Write(fullPath, sha256);
            }

            File.Move(temporary, fullPath, overwrite: true);
            moved = true;
            if (sha256 is not null)
            {
                FileHashes.Remember(fullPath, sha256);
            }
        }
        finally
        {
            if (!moved)
            {
                DeleteQuietly(temporary);
            }
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (without a byte-order mark), atomically.</summary>
    public static void WriteText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text);
        });

    /// <summary>A unique temporary name beside <paramref name="fullPath"/>: <c>&lt;file&gt;.&lt;guid&gt;.tmp</c>.</summary>
    public static string TemporaryPathFor(string fullPath) => $"{fullPath}.{Guid.NewGuid():N}{TemporarySuffix}";

    /// <summary>
    /// Deletes the temporary files that interrupted writes of <paramref name="paths"/> left beside them (a process killed
    /// mid-write leaves one), reading each folder once, and returns how many. A write still under way loses its
    /// temporary file and fails: call it once nothing writes there.
    /// </summary>
    public static int DeleteLeftovers(IEnumerable<string> paths)
    {
        var deleted = 0;
        foreach (var folder in paths.Select(Path.GetFullPath).GroupBy(p => Path.GetDirectoryName(p) ?? string.Empty, StringComparer.Ordinal))
        {
            if (!Directory.Exists(folder.Key))
            {
                continue;
            }

            var names = folder.Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
            foreach (var file in Directory.EnumerateFiles(folder.Key, "*" + TemporarySuffix))
            {
                // <file>.<32 hex digits>.tmp, as TemporaryPathFor names it.
                var name = Path.GetFileName(file);
                var guidStart = name.Length - TemporarySuffix.Length - 32;
                if (guidStart > 1 && name[guidStart - 1] == '.' && Guid.TryParseExact(name.AsSpan(guidStart, 32), "N", out _)
                    && names.Contains(name[..(guidStart - 1)]))
                {
                    deleted += DeleteQuietly(file) ? 1 : 0;
                }
            }
        }

        return deleted;
    }

    /// <summary>Deletes <paramref name="path"/> if it can; false where it could not (a failed write's own exception, or a leftover still held, says more).</summary>
    private static bool DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
