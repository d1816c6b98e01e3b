using System.Collections.Concurrent;

namespace GoodTransfer.ML.IO;

/// <summary>
/// SHA-256 of checkpoint files, computed once per process per file version: a file is hashed again only
/// when its size or its last write time has changed since. Hashing a 100 MB checkpoint from the page cache
/// takes about 0.1 s, so every process checks each file once, and a second <c>Fit</c> in it pays nothing.
/// </summary>
internal static class FileHashes
{
    private static readonly ConcurrentDictionary<string, (long Length, DateTime LastWriteUtc, string Sha256)> Known = new(StringComparer.Ordinal);

    public static string Compute(string path) => Sha256Hex.OfFile(path);

    public static string Memoized(string path)
    {
        var info = new FileInfo(path);
        if (Known.TryGetValue(path, out var known) && known.Length == info.Length && known.LastWriteUtc == info.LastWriteTimeUtc)
        {
            return known.Sha256;
        }

        // Stat before hashing: a file that changes while it is hashed differs from this stat next time.
        var sha256 = Compute(path);
        Known[path] = (info.Length, info.LastWriteTimeUtc, sha256);
        return sha256;
    }

    /// <summary>Records a hash computed while the file was written (a download hashes its bytes as they arrive).</summary>
    public static void Remember(string path, string sha256)
    {
        var info = new FileInfo(path);
        Known[path] = (info.Length, info.LastWriteTimeUtc, sha256);
    }
}
