using GoodTransfer.ML.IO;

namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// Finds a backbone's checkpoint on disk and its SHA-256: the local file of <see cref="Backbone.FromFile"/>,
/// or the cached copy of a catalog backbone, downloaded first when it is missing and the network is allowed.
/// </summary>
/// <remarks>
/// <para>A download holds the entry's <see cref="CacheLock"/>, so threads and processes that ask together
/// download once; the others wait, then find the file. It streams into <c>&lt;file&gt;.&lt;guid&gt;.partial</c>
/// beside its destination, is checked against the catalog's SHA-256 where one is pinned and validated as a
/// loadable checkpoint (by the caller's validator: reading checkpoints is not acquisition's), and only then gets its <c>&lt;file&gt;.sha256</c> record and is moved into place
/// (a rename in one folder, atomic). Only the final name counts as cached, so a killed download leaves
/// nothing a later run can take for a good file; its partial file is deleted by the next download.</para>
/// <para>A cached file is checked against its record on first use in each process (see <see cref="FileHashes"/>).
/// A file placed in the cache by hand has no record: its hash is recorded on first use.</para>
/// </remarks>
internal static class CheckpointStore
{
    /// <summary>The backbone's checkpoint on disk, downloaded first if it is a catalog backbone that is not cached.</summary>
    /// <param name="backbone">The backbone.</param>
    /// <param name="settings">Where the cache is, the mirror, offline mode, progress and timing.</param>
    /// <param name="log">Told about downloads and cache hits.</param>
    /// <param name="validate">Checks that a downloaded file is a loadable checkpoint before it is cached; throws <see cref="CheckpointFormatException"/> if not.</param>
    public static ResolvedCheckpoint Resolve(Backbone backbone, AcquisitionSettings settings, AcquisitionLog log, Action<string> validate)
    {
        if (backbone.CheckpointPath is { } local)
        {
            return new ResolvedCheckpoint(local, FileHashes.Memoized(local));
        }

        var target = Path.Combine(settings.CheckpointFolder, backbone.FileName);
        var lockPath = settings.LockFor(backbone.FileName);
        var url = settings.UrlFor(backbone);
        if (File.Exists(target))
        {
            Leftovers.DeleteIfIdle(lockPath, settings.CheckpointFolder, backbone.FileName + ".", log);
            if (Cached(backbone, target, log, out var unverified) is { } cached)
            {
                return cached;
            }

            if (settings.Offline)
            {
                throw Unverifiable(target, unverified!, "offline mode is on, so it was not downloaded again");
            }
        }
        else if (settings.Offline)
        {
            throw new CheckpointNotCachedException(backbone.FileName, url, target);
        }

        using (CacheLock.Acquire(lockPath, backbone.FileName, () => PartialBytes(target), settings.Policy, log))
        {
            // Whoever held the lock before may have finished the same download.
            if (File.Exists(target))
            {
                if (Cached(backbone, target, log, out var unverified) is { } cached)
                {
                    return cached;
                }

                // Nothing vouches for the file: fetch it again rather than trust it.
                log.Warning($"The cached checkpoint {target} cannot be verified ({unverified}), so it is downloaded again.");
                File.Delete(target);
                Sha256Record.Delete(target);
            }

            Leftovers.Delete(settings.CheckpointFolder, backbone.FileName + ".", log);
            var sha256 = Download(backbone, url, target, settings, log, validate);
            return new ResolvedCheckpoint(target, sha256);
        }
    }

    /// <summary>
    /// The cached file, verified: against its record, and against the catalog's pin where there is one. A file
    /// without a record (placed in the cache by hand) is recorded now; one whose record is unreadable is
    /// unverified: <see langword="null"/> is returned, with the reason in <paramref name="unverified"/>.
    /// </summary>
    /// <exception cref="CheckpointIntegrityException">The file's hash differs from its record or from the pin.</exception>
    private static ResolvedCheckpoint? Cached(Backbone backbone, string target, AcquisitionLog log, out string? unverified)
    {
        unverified = null;
        var actual = FileHashes.Memoized(target);
        var recorded = Sha256Record.Read(target);
        if (recorded.Sha256 is { } expected && expected != actual)
        {
            throw new CheckpointIntegrityException(
                $"The cached checkpoint '{target}' has SHA-256 {actual}, but {expected} was recorded in '{Sha256Record.PathFor(target)}' " +
                "when it was downloaded: the file has changed on disk. Delete both files to download it again.",
                target,
                expected,
                actual);
        }

        if (backbone.Sha256 is { } pinned && pinned != actual)
        {
            throw new CheckpointIntegrityException(
                $"The cached checkpoint '{target}' has SHA-256 {actual}, but the catalog pins {pinned} for {backbone.Name}. " +
                "Delete it to download it again.",
                target,
                pinned,
                actual);
        }

        if (recorded.Problem is { } problem && backbone.Sha256 is null)
        {
            // An unreadable record proves nothing, and recording the file's hash now would launder any damage.
            unverified = problem;
            return null;
        }

        if (recorded.Sha256 is null)
        {
            // Placed in the cache by hand, or vouched for by the catalog's pin: from now on, this is the file's hash.
            RecordIfWritable(target, actual, log);
        }

        log.Info($"Using the cached checkpoint {target} (SHA-256 {actual}).");
        return new ResolvedCheckpoint(target, actual);
    }

    private static void RecordIfWritable(string target, string sha256, AcquisitionLog log)
    {
        try
        {
            Sha256Record.Write(target, sha256);
            log.Info($"Recorded the SHA-256 of {target}, which was not downloaded here: {sha256}.");
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            log.Info($"The cache cannot be written ({e.Message}), so the SHA-256 of {target} ({sha256}) is kept in memory and not recorded.");
        }
    }

    private static CheckpointIntegrityException Unverifiable(string target, string problem, string why) =>
        CheckpointIntegrityException.Unverifiable(
            target,
            Sha256Record.PathFor(target),
            $"The cached checkpoint '{target}' cannot be verified: {problem}, and {why}. " +
            $"Delete '{target}' and '{Sha256Record.PathFor(target)}' to download it again, or turn offline mode off.");

    private static string Download(Backbone backbone, Uri url, string target, AcquisitionSettings settings, AcquisitionLog log, Action<string> validate)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temporary = $"{target}.{Guid.NewGuid():N}.partial";
        try
        {
            var sha256 = CheckpointDownloader.Download(url, temporary, backbone.FileName, settings.Policy, settings.Progress, log);
            if (backbone.Sha256 is { } pinned && pinned != sha256)
            {
                throw new CheckpointIntegrityException(
                    $"The checkpoint downloaded from {url} has SHA-256 {sha256}, but the catalog pins {pinned} for {backbone.Name}; it was not cached.",
                    url.ToString(),
                    pinned,
                    sha256);
            }

            try
            {
                // A truncated body or a foreign file must not enter the cache.
                validate(temporary);
            }
            catch (CheckpointFormatException e)
            {
                throw new CheckpointDownloadException(url, null, $"the file received is not a loadable checkpoint, so it was not cached ({e.Message})", e);
            }

            // The record first: a process that sees the file then sees its record.
            Sha256Record.Write(target, sha256);
            try
            {
                File.Move(temporary, target, overwrite: false);
            }
            catch (IOException) when (File.Exists(target))
            {
                // Only without OS file locks (see CacheLock): another process moved its copy in first.
                return Cached(backbone, target, log, out _)?.Sha256 ?? sha256;
            }

            FileHashes.Remember(target, sha256);
            log.Info($"Cached {backbone.FileName} at {target}.");
            return sha256;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The bytes of this entry's partial downloads: while they grow, a waiting process keeps waiting.</summary>
    private static long PartialBytes(string target)
    {
        var folder = Path.GetDirectoryName(target)!;
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, Path.GetFileName(target) + ".*.partial").Sum(LengthOrZero)
            : 0;
    }

    private static long LengthOrZero(string file)
    {
        try
        {
            return new FileInfo(file).Length;
        }
        catch (FileNotFoundException)
        {
            // Its download finished (or failed) between the listing and now.
            return 0;
        }
    }
}

/// <summary>A checkpoint on disk and its SHA-256 (lower-case hex).</summary>
internal sealed record ResolvedCheckpoint(string Path, string Sha256);
