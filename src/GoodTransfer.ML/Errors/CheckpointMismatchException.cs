namespace GoodTransfer.ML;

/// <summary>
/// A checkpoint was read, but its state dict does not hold a complete torchvision ResNet:
/// keys are missing, have the wrong shape, or are not part of any supported layout.
/// The message and the properties name the keys.
/// </summary>
public sealed class CheckpointMismatchException : CheckpointFormatException
{
    /// <summary>Creates an exception with a message only.</summary>
    public CheckpointMismatchException()
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public CheckpointMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CheckpointMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception naming the file and the offending keys.</summary>
    /// <param name="filePath">The checkpoint file.</param>
    /// <param name="reason">What is wrong, naming the keys.</param>
    /// <param name="missingKeys">Keys a ResNet needs that the state dict lacks.</param>
    /// <param name="mismatchedKeys">Keys present with a shape the architecture does not allow.</param>
    /// <param name="unexpectedKeys">Keys that belong to no supported layout.</param>
    public CheckpointMismatchException(
        string filePath,
        string reason,
        IReadOnlyList<string>? missingKeys = null,
        IReadOnlyList<string>? mismatchedKeys = null,
        IReadOnlyList<string>? unexpectedKeys = null)
        : base(filePath, reason)
    {
        MissingKeys = missingKeys ?? [];
        MismatchedKeys = mismatchedKeys ?? [];
        UnexpectedKeys = unexpectedKeys ?? [];
    }

    /// <summary>Keys a ResNet needs that the state dict lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; } = [];

    /// <summary>Keys present with a shape the inferred architecture does not allow.</summary>
    public IReadOnlyList<string> MismatchedKeys { get; } = [];

    /// <summary>Keys that belong to no supported layout.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; } = [];
}
