namespace GoodTransfer.ML;

/// <summary>
/// A request reached a <see cref="FeaturizerService"/> that is stopping or stopped
/// (<see cref="FeaturizerService.StopAsync"/>, <see cref="FeaturizerService.DisposeAsync"/>): it was not queued.
/// Requests accepted before the stop still finish. <see cref="ObjectDisposedException.ObjectName"/> names the service.
/// </summary>
public sealed class ServiceStoppedException : ObjectDisposedException
{
    /// <summary>Creates an exception with a default message.</summary>
    public ServiceStoppedException()
        : base(nameof(FeaturizerService), "The featurizer service is stopped.")
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public ServiceStoppedException(string message)
        : base(nameof(FeaturizerService), message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ServiceStoppedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception that names the service.</summary>
    /// <param name="service">The service, as its <see cref="FeaturizerService.Name"/> names it.</param>
    /// <param name="stopped">Whether it has stopped, or is still finishing the requests it accepted.</param>
    internal ServiceStoppedException(string service, bool stopped)
        : base($"{nameof(FeaturizerService)} ({service})", $"The featurizer service '{service}' is {(stopped ? "stopped" : "stopping")}: it takes no new requests.")
    {
    }
}
