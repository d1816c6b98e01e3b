using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;

namespace GoodTransfer.ML.Orleans;

/// <summary>GoodTransfer.ML on an Orleans silo: <c>siloBuilder.AddGoodTransferFeaturizer()</c>.</summary>
public static class GoodTransferSiloBuilderExtensions
{
    /// <summary>
    /// Registers the featurizer grain (<see cref="IFeaturizerGrain"/>), which keeps one fitted featurizer per backbone
    /// and options on this silo and runs batches off the Orleans scheduler, for <see cref="FeaturizationJob"/>s.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configure">Sets <see cref="FeaturizerSiloOptions"/>; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddGoodTransferFeaturizer(this ISiloBuilder builder, Action<FeaturizerSiloOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<FeaturizerSiloOptions>().Configure(options => configure?.Invoke(options));
        builder.Services.AddSingleton<SiloFeaturizers>();
        return builder;
    }

    /// <summary>
    /// Shortens how long membership takes to declare a killed silo dead, from Orleans' 6-15 s (measured) to about
    /// 2-4 s: probes time out after 2 s, and two missed probes, voted by two silos, declare a silo dead.
    /// </summary>
    /// <remarks>
    /// <see cref="FeaturizationJob"/> does not wait for this: its own heartbeat re-runs a lost silo's batches within
    /// a few seconds. It shortens the time in which healthy silos still try to reach the dead one. Too short, and a
    /// silo whose cores are oversubscribed misses probes and is declared dead while alive (and stops): keep ONNX
    /// Runtime's threads and <see cref="FeaturizerSiloOptions.MaxConcurrentBatches"/> within the machine's cores.
    /// </remarks>
    /// <param name="builder">The silo builder.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder UseFastFailureDetection(this ISiloBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Configure<ClusterMembershipOptions>(options =>
        {
            options.ProbeTimeout = TimeSpan.FromSeconds(2);
            options.NumMissedProbesLimit = 2;
            options.NumVotesForDeathDeclaration = 2;
            options.TableRefreshTimeout = TimeSpan.FromSeconds(2);
            options.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
        });
    }
}
