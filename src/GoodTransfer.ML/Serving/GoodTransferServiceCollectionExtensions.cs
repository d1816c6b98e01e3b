using GoodTransfer.ML;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="FeaturizerService"/> with ASP.NET Core's (or any) dependency injection: <c>builder.Services.AddGoodTransfer("model.zip")</c>.</summary>
public static class GoodTransferServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="FeaturizerService"/> over the saved model zip <paramref name="modelPath"/>
    /// (<see cref="FeaturizerService.Load"/>), as a singleton made when first asked for. The container disposes
    /// it when it is disposed (in ASP.NET Core, at shutdown, after the server has finished its requests), which
    /// lets the requests it accepted finish.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="modelPath">The model zip, e.g. the classifier that samples/ImageClassifier saves.</param>
    /// <param name="configure">Sets the batching, queue, thread and device options; the defaults are documented on each.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddGoodTransfer(this IServiceCollection services, string modelPath, Action<FeaturizerServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        var options = new FeaturizerServiceOptions();
        configure?.Invoke(options);
        return services.AddGoodTransfer(_ => FeaturizerService.Load(modelPath, options));
    }

    /// <summary>
    /// Registers the <see cref="FeaturizerService"/> that <paramref name="create"/> makes (for instance with
    /// <see cref="FeaturizerService.Create"/> over a featurizer fitted at startup), as a singleton that the
    /// container disposes.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="create">Makes the service, when it is first asked for.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddGoodTransfer(this IServiceCollection services, Func<IServiceProvider, FeaturizerService> create)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(create);
        return services.AddSingleton(create);
    }
}
