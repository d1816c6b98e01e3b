using System.Globalization;

namespace GoodTransfer.ML;

/// <summary>
/// A checkpoint file was refused: it is truncated, corrupted, hostile, of an unsupported format,
/// or does not hold the weights of a supported ResNet. The message names the file and the reason;
/// <see cref="Entry"/> and <see cref="Offset"/> say where, when that is known.
/// </summary>
/// <remarks>
/// Every refusal of a checkpoint by GoodTransfer.ML is this type or one of its subclasses,
/// never a lower-level exception such as <see cref="IndexOutOfRangeException"/> or
/// <see cref="OutOfMemoryException"/>. It derives from <see cref="IOException"/>, so code that
/// already handles a file that cannot be read handles it too.
/// </remarks>
public class CheckpointFormatException : IOException
{
    /// <summary>Creates an exception with a message only.</summary>
    public CheckpointFormatException()
        : this(string.Empty, "the checkpoint was refused")
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public CheckpointFormatException(string message)
        : base(message)
    {
        FilePath = string.Empty;
        Reason = message;
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CheckpointFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        FilePath = string.Empty;
        Reason = message;
    }

    /// <summary>Creates an exception that names the file, the reason and, where known, the place.</summary>
    /// <param name="filePath">The checkpoint file that was refused.</param>
    /// <param name="reason">Why it was refused, as a sentence fragment ("unsupported global 'posix.system'").</param>
    /// <param name="entry">The zip entry or section of the file, where known.</param>
    /// <param name="offset">The byte offset in the file or entry, where known.</param>
    /// <param name="innerException">The low-level failure that led to the refusal, if any.</param>
    public CheckpointFormatException(string filePath, string reason, string? entry = null, long? offset = null, Exception? innerException = null)
        : base(Compose(filePath, reason, entry, offset), innerException)
    {
        FilePath = filePath;
        Reason = reason;
        Entry = entry;
        Offset = offset;
    }

    /// <summary>The checkpoint file that was refused.</summary>
    public string FilePath { get; }

    /// <summary>Why the file was refused.</summary>
    public string Reason { get; }

    /// <summary>The zip entry or section of the file where the problem was found, or <see langword="null"/>.</summary>
    public string? Entry { get; }

    /// <summary>The byte offset (in <see cref="Entry"/> if set, else in the file) where the problem was found, or <see langword="null"/>.</summary>
    public long? Offset { get; }

    private static string Compose(string filePath, string reason, string? entry, long? offset)
    {
        var where = entry is null ? string.Empty : string.Create(CultureInfo.InvariantCulture, $", entry '{entry}'");
        if (offset is long at)
        {
            where += string.Create(CultureInfo.InvariantCulture, $", offset {at}");
        }

        return $"Cannot read checkpoint '{filePath}'{where}: {reason}.";
    }
}
