using Orleans.Concurrency;

namespace GoodTransfer.ML.Orleans;

/// <summary>
/// The featurizer grain that <see cref="GoodTransferSiloBuilderExtensions.AddGoodTransferFeaturizer"/> registers on a
/// silo: a stateless worker that featurizes one batch of images into one feature file. <see cref="FeaturizationJob"/>
/// calls it; other code rarely needs to.
/// </summary>
/// <remarks>
/// A stateless worker runs where its call is placed: the job puts each call on the silo it chose with Orleans'
/// placement hint and a grain key naming that silo, so that it knows which batches each silo holds.
/// </remarks>
[Alias("GoodTransfer.ML.Orleans.IFeaturizerGrain")]
public interface IFeaturizerGrain : IGrainWithStringKey
{
    /// <summary>Featurizes <paramref name="batch"/> and writes its feature file, unless a complete one is already there.</summary>
    /// <param name="batch">The images and where their features go.</param>
    /// <param name="cancellationToken">Cancels the batch before its file is written (the job's deadline for the attempt).</param>
    /// <returns>What was done, on which silo; a batch that failed in a way another try cannot mend says so in <see cref="BatchResult.Error"/>.</returns>
    [Alias("FeaturizeAsync")]
    Task<BatchResult> FeaturizeAsync(FeatureBatch batch, CancellationToken cancellationToken);

    /// <summary>Answers at once, even while the silo featurizes: the job's heartbeat.</summary>
    /// <param name="cancellationToken">Gives up on the answer (the job's heartbeat timeout).</param>
    /// <returns>The address of the silo that answered.</returns>
    [AlwaysInterleave]
    [Alias("PingAsync")]
    Task<string> PingAsync(CancellationToken cancellationToken);
}
