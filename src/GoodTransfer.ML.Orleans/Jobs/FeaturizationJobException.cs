namespace GoodTransfer.ML.Orleans;

/// <summary>
/// A <see cref="FeaturizationJob"/> could not finish: a batch failed in a way another attempt cannot mend (an image
/// that cannot be decoded, a checkpoint that cannot be had), a batch failed on every attempt, no silo was usable for
/// too long, or the output folder holds another job's parts. Parts already written stay; a rerun resumes from them.
/// </summary>
public sealed class FeaturizationJobException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FeaturizationJobException()
    {
    }

    /// <summary>Creates the exception with its message.</summary>
    /// <param name="message">What failed.</param>
    public FeaturizationJobException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public FeaturizationJobException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The batch that failed, or -1 when the failure is not a batch's.</summary>
    public int Batch { get; init; } = -1;
}
