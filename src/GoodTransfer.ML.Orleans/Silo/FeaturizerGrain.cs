using System.Diagnostics.CodeAnalysis;
using Orleans.Concurrency;

namespace GoodTransfer.ML.Orleans;

/// <summary>The stateless worker behind <see cref="IFeaturizerGrain"/>: the silo's <see cref="SiloFeaturizers"/> do the work.</summary>
[StatelessWorker]
[SuppressMessage("Reliability", "CA2007:Consider calling ConfigureAwait on the awaited task", Justification = "A grain's code must stay on its Orleans scheduler (ORLEANS0014).")]
internal sealed class FeaturizerGrain(SiloFeaturizers featurizers, ILocalSiloDetails silo) : Grain, IFeaturizerGrain
{
    public Task<BatchResult> FeaturizeAsync(FeatureBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return featurizers.RunAsync(batch, silo.SiloAddress.ToParsableString(), cancellationToken);
    }

    public Task<string> PingAsync(CancellationToken cancellationToken) => Task.FromResult(silo.SiloAddress.ToParsableString());
}
