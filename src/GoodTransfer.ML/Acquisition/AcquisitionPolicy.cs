namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// The timing of downloads and cache locks. Not public: the defaults suit real networks, and the tests
/// shorten them so that a stall or a backoff takes milliseconds.
/// </summary>
internal sealed record AcquisitionPolicy
{
    public static AcquisitionPolicy Default { get; } = new();

    /// <summary>Attempts in a row that receive no new byte before the download fails; an attempt that gets further starts the count again.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>The wait before the first retry; each further retry doubles it, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>No response, or no byte of the body, for this long ends the attempt; the total time is not limited.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long to wait for a lock whose holder shows no progress (its partial download does not grow).</summary>
    public TimeSpan LockPatience { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan LockPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Exponential backoff with jitter: half the delay is fixed, half random, so that clients that failed together do not retry together.</summary>
    public TimeSpan RetryDelay(int failures, TimeSpan? retryAfter)
    {
        var exponential = FirstRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
        var capped = Math.Min(exponential, MaxRetryDelay.TotalMilliseconds);
        var jittered = capped * (0.5 + (Random.Shared.NextDouble() * 0.5));
        var serverAsked = Math.Min(retryAfter?.TotalMilliseconds ?? 0, MaxRetryDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(Math.Max(jittered, serverAsked));
    }
}
