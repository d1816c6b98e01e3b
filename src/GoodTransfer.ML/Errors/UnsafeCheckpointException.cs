namespace GoodTransfer.ML;

/// <summary>
/// A checkpoint asked for something that a state dict never needs: a Python global outside the
/// allowlist (which, in Python, could run arbitrary code), a pickled whole <c>nn.Module</c>, or a
/// construct the safe reader does not allow. Nothing the file names is ever instantiated.
/// </summary>
public sealed class UnsafeCheckpointException : CheckpointFormatException
{
    /// <summary>Creates an exception with a message only.</summary>
    public UnsafeCheckpointException()
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public UnsafeCheckpointException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UnsafeCheckpointException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception naming the file, the refused construct and where it was found.</summary>
    /// <param name="filePath">The checkpoint file.</param>
    /// <param name="reason">What was refused, e.g. "unsupported global 'posix.system'".</param>
    /// <param name="entry">The zip entry or section, where known.</param>
    /// <param name="offset">The byte offset, where known.</param>
    public UnsafeCheckpointException(string filePath, string reason, string? entry = null, long? offset = null)
        : base(filePath, reason, entry, offset)
    {
    }
}
