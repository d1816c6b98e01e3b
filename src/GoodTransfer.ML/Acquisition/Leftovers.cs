namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// Temporary files that killed processes leave in the cache: partial downloads (<c>&lt;file&gt;.&lt;guid&gt;.partial</c>)
/// and unfinished atomic writes (<c>&lt;file&gt;.&lt;guid&gt;.tmp</c>, 5 to 100 MB for a converted model). Only the final
/// names ever count as cached, so these are never taken for good files; they are removed when their entry is
/// next used, by whoever holds the entry's lock, so that no live writer loses its file.
/// </summary>
internal static class Leftovers
{
    /// <summary>Deletes the leftovers of the files whose names start with <paramref name="prefix"/> in <paramref name="folder"/>; the caller holds the entry's lock.</summary>
    /// <returns>How many files were deleted.</returns>
    public static int Delete(string folder, string prefix, AcquisitionLog log)
    {
        if (!CacheLock.IsEnforced || !Directory.Exists(folder))
        {
            // Without OS locks, holding the lock proves nothing: another process may be writing these files.
            return 0;
        }

        var deleted = 0;
        foreach (var file in Directory.EnumerateFiles(folder, prefix + "*").Where(IsTemporary))
        {
            try
            {
                File.Delete(file);
                deleted++;
                log.Info($"Deleted {file}, left in the cache by an interrupted download or conversion.");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A read-only cache, or a file another process still has open on Windows: left for next time.
            }
        }

        return deleted;
    }

    /// <summary>Takes the entry's lock if it is free and deletes its leftovers; a busy entry is left alone (its holder may be writing them).</summary>
    public static void DeleteIfIdle(string lockPath, string folder, string prefix, AcquisitionLog log)
    {
        using var held = CacheLock.TryAcquire(lockPath);
        if (held is not null)
        {
            Delete(folder, prefix, log);
        }
    }

    private static bool IsTemporary(string file) =>
        file.EndsWith(".partial", StringComparison.Ordinal) || file.EndsWith(IO.AtomicFile.TemporarySuffix, StringComparison.Ordinal);
}
