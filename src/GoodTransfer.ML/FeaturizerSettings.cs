using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Conversion;
using GoodTransfer.ML.Runtime;

namespace GoodTransfer.ML;

/// <summary>
/// <see cref="GoodTransferOptions"/> checked and frozen, once, at the library's boundary (when an estimator is
/// made, or an export starts): each layer receives its part and nothing reads the caller's options later, so
/// changing them afterwards changes nothing, and a saved model is the model that was fitted.
/// </summary>
/// <param name="Acquisition">Cache, mirror, offline mode, progress and timing.</param>
/// <param name="Conversion">Feature layer, precision and calibration images.</param>
/// <param name="Session">Batch size, threads and device.</param>
internal sealed record FeaturizerSettings(AcquisitionSettings Acquisition, ConversionSettings Conversion, SessionSettings Session)
{
    /// <summary>
    /// Checks every option and freezes them; an option out of range is refused here, before anything is
    /// downloaded, with an <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> is
    /// the option's name.
    /// </summary>
    /// <param name="options">The caller's options.</param>
    /// <param name="policy">Retry, stall and lock timing; the default suits real networks (the tests shorten it).</param>
    /// <returns>The frozen settings.</returns>
    public static FeaturizerSettings From(GoodTransferOptions options, AcquisitionPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(options.FeatureLayer))
        {
            throw OptionErrors.OutOfRange(nameof(options.FeatureLayer), options.FeatureLayer, $"FeatureLayer {(int)options.FeatureLayer} is not one of {string.Join(", ", Enum.GetNames<FeatureLayer>())}.");
        }

        if (!Enum.IsDefined(options.Precision))
        {
            throw OptionErrors.OutOfRange(nameof(options.Precision), options.Precision, $"Precision {(int)options.Precision} is not one of {string.Join(", ", Enum.GetNames<Precision>())}.");
        }

        if (options.BatchSize is < 1 or > GoodTransferDefaults.MaxBatchSize)
        {
            throw OptionErrors.OutOfRange(nameof(options.BatchSize),
                options.BatchSize,
                $"BatchSize must be between 1 and {GoodTransferDefaults.MaxBatchSize}: each image of a batch holds a 602 KB tensor, and the CPU decodes four batches at once.");
        }

        if (options.CpuThreads is < 1)
        {
            throw OptionErrors.OutOfRange(nameof(options.CpuThreads), options.CpuThreads, "CpuThreads must be at least 1, or null to let ONNX Runtime use every core.");
        }

        if (options.GpuDeviceId is < 0)
        {
            throw OptionErrors.OutOfRange(nameof(options.GpuDeviceId), options.GpuDeviceId, "GpuDeviceId must be a CUDA device number (0 or more), or null for the CPU.");
        }

        var acquisition = AcquisitionSettings.Resolve(options.CacheDirectory, options.MirrorUrl, options.Offline, options.Progress, policy ?? AcquisitionPolicy.Default, nameof(options.MirrorUrl));
        var calibration = options.Precision == Precision.Int8 ? CalibrationFiles(options.CalibrationImages) : [];
        return new FeaturizerSettings(
            acquisition,
            new ConversionSettings(options.FeatureLayer, options.Precision, calibration),
            new SessionSettings(options.BatchSize, options.CpuThreads, options.GpuDeviceId, options.FallbackToCpu));
    }

    private static string[] CalibrationFiles(IReadOnlyList<string>? paths)
    {
        if (paths is null)
        {
            return [];
        }

        var files = new string[paths.Count];
        for (var i = 0; i < files.Length; i++)
        {
            var path = paths[i];
            if (string.IsNullOrWhiteSpace(path))
            {
                throw OptionErrors.Invalid(nameof(GoodTransferOptions.CalibrationImages), $"CalibrationImages[{i}] is empty: each entry must name an image file.");
            }

            files[i] = Path.GetFullPath(path);
            if (!File.Exists(files[i]))
            {
                throw OptionErrors.Invalid(nameof(GoodTransferOptions.CalibrationImages), $"CalibrationImages[{i}] names no file: '{files[i]}' does not exist.");
            }
        }

        return files;
    }

}

/// <summary>Exceptions for options out of range: their parameter name is the option's, not a parameter of the method that throws.</summary>
internal static class OptionErrors
{
    public static ArgumentOutOfRangeException OutOfRange(string option, object? value, string message) => new(option, value, message);

    public static ArgumentException Invalid(string option, string message) => new(message, option);
}
