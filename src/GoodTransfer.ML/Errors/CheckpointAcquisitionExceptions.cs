namespace GoodTransfer.ML;

/// <summary>
/// Offline mode is on (<see cref="GoodTransferOptions.Offline"/> or <c>GOODTRANSFER_OFFLINE=1</c>) and the
/// checkpoint is not in the cache. The message names the file, the URL it would come from and the cache path
/// where it can be placed by hand.
/// </summary>
public sealed class CheckpointNotCachedException : IOException
{
    /// <summary>Creates an exception with a message only.</summary>
    public CheckpointNotCachedException()
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public CheckpointNotCachedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CheckpointNotCachedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception naming the missing file, its URL and the cache path.</summary>
    /// <param name="fileName">The checkpoint's file name.</param>
    /// <param name="url">Where it would be downloaded from.</param>
    /// <param name="cachePath">Where the cache expects it.</param>
    public CheckpointNotCachedException(string fileName, Uri url, string cachePath)
        : base($"Checkpoint '{fileName}' is not in the cache and offline mode is on, so it was not downloaded from {url}. " +
               $"Download it elsewhere and place it at '{cachePath}', or turn offline mode off.")
    {
        FileName = fileName;
        Url = url;
        CachePath = cachePath;
    }

    /// <summary>The checkpoint's file name.</summary>
    public string? FileName { get; }

    /// <summary>Where the checkpoint would be downloaded from.</summary>
    public Uri? Url { get; }

    /// <summary>Where the cache expects the file.</summary>
    public string? CachePath { get; }
}

/// <summary>A checkpoint could not be downloaded. The message names the URL and the reason (status code, network error).</summary>
public sealed class CheckpointDownloadException : IOException
{
    /// <summary>Creates an exception with a message only.</summary>
    public CheckpointDownloadException()
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public CheckpointDownloadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CheckpointDownloadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception naming the URL, the HTTP status (if any) and the reason.</summary>
    /// <param name="url">The URL that failed.</param>
    /// <param name="statusCode">The HTTP status code, or <see langword="null"/> for a network failure.</param>
    /// <param name="reason">What went wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public CheckpointDownloadException(Uri url, int? statusCode, string reason, Exception? innerException = null)
        : base($"Cannot download checkpoint from {url}: {reason}.", innerException)
    {
        Url = url;
        StatusCode = statusCode;
    }

    /// <summary>The URL that failed.</summary>
    public Uri? Url { get; }

    /// <summary>The HTTP status code, or <see langword="null"/> when no response came.</summary>
    public int? StatusCode { get; }
}

/// <summary>
/// A checkpoint's SHA-256 is not the one expected: a download that differs from the hash the catalog
/// pins (it was not cached), a cached file that no longer matches the hash recorded beside it when it
/// was downloaded, or (offline) a cached file whose record cannot be read, so that nothing vouches for it.
/// The message names the file and the hashes, or the record.
/// </summary>
public sealed class CheckpointIntegrityException : IOException
{
    /// <summary>Creates an exception with a message only.</summary>
    public CheckpointIntegrityException()
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public CheckpointIntegrityException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CheckpointIntegrityException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception naming the file, the hash expected and the hash found.</summary>
    /// <param name="message">The message; it names the file and both hashes.</param>
    /// <param name="filePath">The file whose hash differs (for a refused download, its source URL).</param>
    /// <param name="expectedSha256">The hash expected, lower-case hex.</param>
    /// <param name="actualSha256">The hash of the bytes found, lower-case hex.</param>
    public CheckpointIntegrityException(string message, string filePath, string expectedSha256, string actualSha256)
        : base(message)
    {
        FilePath = filePath;
        ExpectedSha256 = expectedSha256;
        ActualSha256 = actualSha256;
    }

    private CheckpointIntegrityException(string message, string filePath, string recordPath)
        : base(message)
    {
        FilePath = filePath;
        RecordPath = recordPath;
    }

    /// <summary>The file whose hash differs: the cached file, or for a refused download its URL.</summary>
    public string? FilePath { get; }

    /// <summary>The <c>.sha256</c> record that cannot be read, when that is what is wrong; otherwise <see langword="null"/>.</summary>
    public string? RecordPath { get; }

    /// <summary>The SHA-256 expected: the catalog's pin or the recorded hash.</summary>
    public string? ExpectedSha256 { get; }

    /// <summary>The SHA-256 of the bytes found.</summary>
    public string? ActualSha256 { get; }

    /// <summary>A cached file whose record cannot be read, and which cannot be fetched again.</summary>
    internal static CheckpointIntegrityException Unverifiable(string filePath, string recordPath, string message) => new(message, filePath, recordPath);
}
