namespace GoodTransfer.ML;

/// <summary>
/// A <see cref="FeaturizerService"/> refused a request because its queue is full: as many requests are
/// already waiting for a batch as <see cref="FeaturizerServiceOptions.MaxQueueLength"/> allows. Nothing was
/// queued; the request may be retried later. A web service answers it with 503 and a <c>Retry-After</c>.
/// </summary>
public sealed class ServiceOverloadedException : InvalidOperationException
{
    /// <summary>Creates an exception with a default message.</summary>
    public ServiceOverloadedException()
        : base("The featurizer service's queue is full.")
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public ServiceOverloadedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ServiceOverloadedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception that names the service and its queue bound.</summary>
    /// <param name="service">The service, as its <see cref="FeaturizerService.Name"/> names it.</param>
    /// <param name="maxQueueLength">The bound that was reached.</param>
    internal ServiceOverloadedException(string service, int maxQueueLength)
        : base($"The featurizer service '{service}' is overloaded: {maxQueueLength} requests are already waiting (MaxQueueLength = {maxQueueLength}). Retry later.")
    {
        MaxQueueLength = maxQueueLength;
    }

    /// <summary>The queue bound that was reached; 0 when not known.</summary>
    public int MaxQueueLength { get; }
}
