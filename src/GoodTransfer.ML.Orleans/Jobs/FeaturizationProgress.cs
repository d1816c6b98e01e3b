namespace GoodTransfer.ML.Orleans;

/// <summary>What happened in a <see cref="FeaturizationJob"/>; each report carries the totals so far.</summary>
public enum FeaturizationEvent
{
    /// <summary>The job found its complete parts and cut the rest into batches.</summary>
    Started,

    /// <summary>A batch's part was written (<see cref="FeaturizationProgress.Batch"/>).</summary>
    BatchDone,

    /// <summary>An attempt at a batch failed or was cancelled, and the batch will be sent again (<see cref="FeaturizationProgress.Reason"/>).</summary>
    BatchRetried,

    /// <summary>A silo became usable (<see cref="FeaturizationProgress.Silo"/>).</summary>
    SiloJoined,

    /// <summary>A silo stopped answering or left the cluster (<see cref="FeaturizationProgress.Silo"/>); its batches are sent elsewhere.</summary>
    SiloLost,
}

/// <summary>A silo's share of a job so far.</summary>
/// <param name="Silo">The silo's address (<c>host:port@generation</c>).</param>
/// <param name="Batches">Batches whose part it wrote first.</param>
/// <param name="Images">Images in those batches.</param>
/// <param name="Usable">Whether the job sends it batches now.</param>
public sealed record SiloProgress(string Silo, int Batches, int Images, bool Usable);

/// <summary>A progress report of a <see cref="FeaturizationJob"/>.</summary>
/// <param name="Event">What happened.</param>
/// <param name="BatchesDone">Batches whose parts exist, those found complete at the start included.</param>
/// <param name="BatchesTotal">Batches in the job.</param>
/// <param name="BatchesSkipped">Batches whose parts were complete when the job started (not run again).</param>
/// <param name="ImagesDone">Images featurized by this run.</param>
/// <param name="ImagesPerSecond">Images featurized by this run per second since it started.</param>
/// <param name="Retries">Attempts sent again so far.</param>
/// <param name="Elapsed">Time since the job started.</param>
/// <param name="Silos">Each silo that has been used.</param>
/// <param name="Batch">The batch the event is about, or -1.</param>
/// <param name="Silo">The silo the event is about, or <see langword="null"/>.</param>
/// <param name="Reason">Why an attempt was retried or a silo lost, or <see langword="null"/>.</param>
public sealed record FeaturizationProgress(
    FeaturizationEvent Event,
    int BatchesDone,
    int BatchesTotal,
    int BatchesSkipped,
    long ImagesDone,
    double ImagesPerSecond,
    int Retries,
    TimeSpan Elapsed,
    IReadOnlyList<SiloProgress> Silos,
    int Batch,
    string? Silo,
    string? Reason);

/// <summary>The outcome of a finished <see cref="FeaturizationJob"/>.</summary>
/// <param name="Parts">Every part of the job, in batch order; together they hold every image once.</param>
/// <param name="BatchesRun">Batches featurized by this run.</param>
/// <param name="BatchesSkipped">Batches whose parts were complete already.</param>
/// <param name="Retries">Attempts sent again.</param>
/// <param name="Elapsed">How long the run took.</param>
/// <param name="Silos">Each silo's share.</param>
public sealed record FeaturizationJobResult(
    IReadOnlyList<string> Parts,
    int BatchesRun,
    int BatchesSkipped,
    int Retries,
    TimeSpan Elapsed,
    IReadOnlyList<SiloProgress> Silos);
