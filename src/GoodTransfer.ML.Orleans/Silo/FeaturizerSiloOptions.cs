namespace GoodTransfer.ML.Orleans;

/// <summary>How a silo runs the featurizer grain; see <see cref="GoodTransferSiloBuilderExtensions.AddGoodTransferFeaturizer"/>.</summary>
public sealed class FeaturizerSiloOptions
{
    private int maxConcurrentBatches = 1;

    /// <summary>
    /// How many batches the silo featurizes at once, 1 or more. The default is 1: ONNX Runtime already uses every core
    /// for one batch (unless <see cref="GoodTransferOptions.CpuThreads"/> says otherwise), and a silo whose cores are
    /// oversubscribed answers membership probes late and can be declared dead. Further batches wait their turn.
    /// </summary>
    public int MaxConcurrentBatches
    {
        get => maxConcurrentBatches;
        set => maxConcurrentBatches = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxConcurrentBatches), value, "At least one batch must be able to run.");
    }
}
