using System.Globalization;

namespace GoodTransfer.ML.Samples.ImageService;

/// <summary>The service's settings, from the command line (<c>--Model FILE</c>), the environment or appsettings.</summary>
internal sealed record ServiceSettings(string ModelPath, bool Naive, long MaxBodyBytes, int MaxQueueLength, TimeSpan MaxBatchDelay, bool RunAtOnceWhenIdle, int? BatchSize)
{
    public static ServiceSettings From(IConfiguration configuration)
    {
        var model = configuration["Model"];
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new InvalidOperationException("Give the classifier zip to serve: --Model image-classifier.zip (samples/ImageClassifier saves one).");
        }

        var mode = configuration["Mode"] ?? "batched";
        if (mode is not ("batched" or "naive"))
        {
            throw new InvalidOperationException($"--Mode is 'batched' (the default) or 'naive', not '{mode}'.");
        }

        return new ServiceSettings(
            Path.GetFullPath(model),
            mode == "naive",
            Number(configuration, "MaxBodyBytes", 10 * 1024 * 1024),
            (int)Number(configuration, "MaxQueueLength", 256),
            TimeSpan.FromMilliseconds(Number(configuration, "MaxBatchDelayMs", 5)),
            Flag(configuration, "RunAtOnceWhenIdle", fallback: true),
            configuration["BatchSize"] is { } batch ? (int)Number(configuration, "BatchSize", 8) : null);
    }

    private static bool Flag(IConfiguration configuration, string key, bool fallback) =>
        configuration[key] is not { } text ? fallback
        : bool.TryParse(text, out var value) ? value
        : throw new InvalidOperationException($"--{key} must be true or false, not '{text}'.");

    private static long Number(IConfiguration configuration, string key, long fallback) =>
        configuration[key] is not { } text ? fallback
        : long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= 0 ? value
        : throw new InvalidOperationException($"--{key} must be a whole number, not '{text}'.");
}
