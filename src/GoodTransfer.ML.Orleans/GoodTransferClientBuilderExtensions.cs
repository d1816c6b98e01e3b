using Orleans.Configuration;

namespace GoodTransfer.ML.Orleans;

/// <summary>The client side of GoodTransfer.ML on Orleans: <c>clientBuilder.AddGoodTransferJobClient()</c>.</summary>
public static class GoodTransferClientBuilderExtensions
{
    /// <summary>
    /// Sets the client up for <see cref="FeaturizationJob"/>s: a silo that joins is seen within 2 s (Orleans' gateway
    /// list refresh is 60 s by default), and a call may last as long as the job's per-attempt deadline
    /// (<see cref="FeaturizationJobOptions.AttemptTimeout"/>) instead of Orleans' 30 s response timeout, which a
    /// batch of full-size ResNet-50 images can outlast on a small machine.
    /// </summary>
    /// <param name="builder">The client builder.</param>
    /// <param name="responseTimeout">Orleans' response timeout for the client's calls; the default is 30 minutes. Keep it above the job's <see cref="FeaturizationJobOptions.AttemptTimeout"/>.</param>
    /// <returns>The builder.</returns>
    public static IClientBuilder AddGoodTransferJobClient(this IClientBuilder builder, TimeSpan? responseTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configure<GatewayOptions>(options => options.GatewayListRefreshPeriod = TimeSpan.FromSeconds(2));
        return builder.Configure<ClientMessagingOptions>(options => options.ResponseTimeout = responseTimeout ?? TimeSpan.FromMinutes(30));
    }
}
