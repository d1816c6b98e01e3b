namespace GoodTransfer.ML.Orleans;

/// <summary>How a <see cref="FeaturizationJob"/> cuts, sends and retries its batches. Every property has a default.</summary>
public sealed class FeaturizationJobOptions
{
    /// <summary>
    /// Images per batch, and so per Parquet part, from 1. The default is 256: about 2 MB of features per part,
    /// 10-30 s of a 2-core silo's time with a full-size ResNet-50. A batch is the unit of retry: a lost silo's
    /// batches are run again whole.
    /// </summary>
    public int ImagesPerBatch { get; set; } = 256;

    /// <summary>
    /// Batches sent to each silo at a time, from 1. The default is 2: one runs while the next waits, so a silo never
    /// waits for the client between batches.
    /// </summary>
    public int BatchesPerSilo { get; set; } = 2;

    /// <summary>
    /// The deadline of one attempt at a batch, from when it is sent: past it the attempt is cancelled and the batch
    /// sent again. The default is 10 minutes; keep it above the time a silo takes for one batch, waiting included.
    /// </summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// When an attempt gets a second one on another silo: after this many times the median batch's time (and at least
    /// 5 s), once no batch is waiting to be sent. The default is 4; 0 turns it off. The first result wins; the other
    /// writes the same features to the same part. It covers a silo that is slow and a call lost without an error
    /// (measured here in the seconds after a kill), which only <see cref="AttemptTimeout"/> would end otherwise.
    /// </summary>
    public double StragglerFactor { get; set; } = 4;

    /// <summary>
    /// Attempts at one batch before the job gives up with a <see cref="FeaturizationJobException"/>. The default is 10.
    /// A batch sent again waits 0.2, 0.4, 0.8 ... up to 5 s first: in the seconds after a silo dies, healthy gateways
    /// can reject calls at once while they still try to reach it.
    /// </summary>
    public int MaxAttemptsPerBatch { get; set; } = 10;

    /// <summary>
    /// How often the job pings each silo it uses. The default is 1 s. A silo that does not answer within
    /// <see cref="HeartbeatTimeout"/> is taken as lost: its batches are sent to other silos.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a ping may take. The default is 3 s, so a killed silo's batches are sent again 3-4 s after the kill,
    /// where Orleans alone would wait for its 30 s response timeout. A silo that answers late is used again once it
    /// answers; a batch it finished meanwhile counts if it is the first result.
    /// </summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often the job asks the cluster which silos are active, to use new ones. The default is 2 s.</summary>
    public TimeSpan MembershipRefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the job waits while no silo is usable before it fails. The default is 2 minutes.</summary>
    public TimeSpan NoSiloTimeout { get; set; } = TimeSpan.FromMinutes(2);

    internal void Check()
    {
        Positive(ImagesPerBatch, nameof(ImagesPerBatch));
        Positive(BatchesPerSilo, nameof(BatchesPerSilo));
        Positive(MaxAttemptsPerBatch, nameof(MaxAttemptsPerBatch));
        Positive(AttemptTimeout, nameof(AttemptTimeout));
        Positive(HeartbeatInterval, nameof(HeartbeatInterval));
        Positive(HeartbeatTimeout, nameof(HeartbeatTimeout));
        Positive(MembershipRefreshInterval, nameof(MembershipRefreshInterval));
        Positive(NoSiloTimeout, nameof(NoSiloTimeout));

        static void Positive<T>(T value, string name)
            where T : IComparable<T>
        {
            if (value.CompareTo(default!) <= 0)
            {
                throw new ArgumentOutOfRangeException(name, value, $"FeaturizationJobOptions.{name} must be positive.");
            }
        }
    }
}
