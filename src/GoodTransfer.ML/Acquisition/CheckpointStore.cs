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
        if (File.Exists(target))
        {
            return Cached(backbone, target, log);
        }

        var url = settings.UrlFor(backbone);
        if (settings.Offline)
        {
            throw new CheckpointNotCachedException(backbone.FileName, url, target);
        }

        using (CacheLock.Acquire(settings.LockFor(backbone.FileName), backbone.FileName, () => PartialBytes(target), settings.Policy, log))
        {
            // Whoever held the lock before may have finished the same download.
            if (File.Exists(target))
            {
                return Cached(backbone, target, log);
            }

            DeleteAbandonedPartials(target);
            var sha256 = Download(backbone, url, target, settings, log, validate);
            return new ResolvedCheckpoint(target, sha256);
        }
    }

    private static ResolvedCheckpoint Cached(Backbone backbone, string target, AcquisitionLog log)
    {
        var actual = FileHashes.Memoized(target);
        var recorded = Sha256Record.Read(target);
        if (recorded is not null && recorded != actual)
        {
            throw new CheckpointIntegrityException(
                $"The cached checkpoint '{target}' has SHA-256 {actual}, but {recorded} was recorded in '{Sha256Record.PathFor(target)}' " +
                "when it was downloaded: the file has changed on disk. Delete both files to download it again.",
                target,
                recorded,
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

        if (recorded is null)
        {
            // Placed in the cache by hand (or the record was lost): from now on, this is the file's hash.
            Sha256Record.Write(target, actual);
            log.Info($"Recorded the SHA-256 of {target}, which was not downloaded here: {actual}.");
        }

        log.Info($"Using the cached checkpoint {target} (SHA-256 {actual}).");
        return new ResolvedCheckpoint(target, actual);
    }

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
                return Cached(backbone, target, log).Sha256;
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

    /// <summary>Partial files of this entry left by killed downloads: with the lock held, no one else is writing them.</summary>
    private static void DeleteAbandonedPartials(string target)
    {
        var folder = Path.GetDirectoryName(target)!;
        if (!CacheLock.IsEnforced || !Directory.Exists(folder))
        {
            return;
        }

        foreach (var partial in Directory.EnumerateFiles(folder, Path.GetFileName(target) + ".*.partial"))
        {
            File.Delete(partial);
        }
    }
}

/// <summary>A checkpoint on disk and its SHA-256 (lower-case hex).</summary>
internal sealed record ResolvedCheckpoint(string Path, string Sha256);
