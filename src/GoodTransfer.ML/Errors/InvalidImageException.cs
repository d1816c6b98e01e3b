namespace GoodTransfer.ML;

/// <summary>
/// An image was refused: it is empty, truncated, corrupted, of a format that cannot be decoded,
/// or too large to decode safely. The message names the image (a file path, or where in the data
/// the bytes came from) and the reason.
/// </summary>
/// <remarks>
/// Every refusal of an image's content by GoodTransfer.ML is this type, never a lower-level
/// exception from the decoder. It derives from <see cref="FormatException"/>. A file that does not
/// exist is not refused here: that is a <see cref="FileNotFoundException"/>.
/// </remarks>
public sealed class InvalidImageException : FormatException
{
    /// <summary>Creates an exception with a default message.</summary>
    public InvalidImageException()
        : this(string.Empty, "the image was refused")
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public InvalidImageException(string message)
        : base(message)
    {
        ImageSource = string.Empty;
        Reason = message;
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public InvalidImageException(string message, Exception innerException)
        : base(message, innerException)
    {
        ImageSource = string.Empty;
        Reason = message;
    }

    /// <summary>Creates an exception that names the image and the reason it was refused.</summary>
    /// <param name="source">The image: a file path, or a description such as "image bytes in row 12".</param>
    /// <param name="reason">Why it was refused, as a sentence fragment ("the data ends before the image does").</param>
    /// <param name="innerException">The low-level failure that led to the refusal, if any.</param>
    public InvalidImageException(string source, string reason, Exception? innerException = null)
        : base($"Cannot decode image '{source}': {reason}.", innerException)
    {
        ImageSource = source;
        Reason = reason;
    }

    /// <summary>The image that was refused: a file path, or a description of where its bytes came from.</summary>
    public string ImageSource { get; }

    /// <summary>Why the image was refused.</summary>
    public string Reason { get; }
}
