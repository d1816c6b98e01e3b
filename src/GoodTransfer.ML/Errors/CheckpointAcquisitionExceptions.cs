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
