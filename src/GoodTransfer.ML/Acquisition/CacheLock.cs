using System.Diagnostics;

namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// A lock shared by the threads and processes that use one cache entry: a lock file opened with
/// <see cref="FileShare.None"/>. The operating system holds the lock for the open handle (<c>flock</c> on
/// Linux and macOS, a share mode on Windows) and drops it when the handle closes, also when its process
/// is killed, so a lock is never left stale. Owns that handle: dispose it to release the lock.
/// </summary>
/// <remarks>
/// The lock file itself stays in <c>&lt;cache&gt;/locks/</c>: deleting it on release would let a process
/// that opened the old file and one that creates a new one both believe they hold the lock.
/// With <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c> set, .NET takes no lock on Unix; concurrent processes
/// may then download the same file twice, each into its own temporary file, and the cache stays correct.
/// </remarks>
internal sealed class CacheLock : IDisposable
{
    private readonly FileStream handle;

    private CacheLock(FileStream handle)
    {
        this.handle = handle;
    }

    /// <summary>Whether .NET takes OS locks on files in this process. When it does not, holding a lock proves nothing, and another process's partial download must be left alone.</summary>
    public static bool IsEnforced { get; } =
        !(AppContext.TryGetSwitch("System.IO.DisableFileLocking", out var disabled) && disabled) &&
        Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING") is not ("1" or "true" or "TRUE" or "True");

    /// <summary>
    /// Takes the lock, waiting while another thread or process holds it. Gives up with an
    /// <see cref="IOException"/> when the holder shows no progress for <see cref="AcquisitionPolicy.LockPatience"/>:
    /// <paramref name="holderProgress"/> returns a value that changes while the holder works (the size of its partial download).
    /// </summary>
    public static CacheLock Acquire(string lockPath, string what, Func<long> holderProgress, AcquisitionPolicy policy, AcquisitionLog log)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        var lastProgress = holderProgress();
        var sinceProgress = Stopwatch.StartNew();
        var announced = false;
        while (true)
        {
            try
            {
                return new CacheLock(new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1));
            }
            catch (IOException e) when (e.GetType() == typeof(IOException))
            {
                // A sharing violation: its subclasses (file or folder not found, path too long) are real errors.
                // The HResult differs by OS (errno EWOULDBLOCK on Unix, ERROR_SHARING_VIOLATION on Windows).
            }

            if (!announced)
            {
                log.Info($"Waiting for another thread or process that is fetching {what} (lock '{lockPath}').");
                announced = true;
            }

            var progress = holderProgress();
            if (progress != lastProgress)
            {
                lastProgress = progress;
                sinceProgress.Restart();
            }
            else if (sinceProgress.Elapsed > policy.LockPatience)
            {
                throw new IOException(
                    $"Gave up waiting for the lock '{lockPath}' on {what}: its holder, another thread or process, " +
                    $"has shown no progress for {policy.LockPatience.TotalSeconds:0.#} s.");
            }

            Thread.Sleep(policy.LockPollInterval);
        }
    }

    /// <summary>
    /// Takes the lock if no one holds it, without waiting; <see langword="null"/> when another thread or process
    /// holds it, or the cache cannot be written (a read-only cache needs no lock to be read).
    /// </summary>
    public static CacheLock? TryAcquire(string lockPath)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
            return new CacheLock(new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose() => handle.Dispose();
}
