using System.Globalization;

namespace GoodTransfer.ML.Orleans;

/// <summary>
/// What each silo fits, sent with every batch: a backbone and the options that change its features or where it
/// comes from. Made from a <see cref="Backbone"/> and <see cref="GoodTransferOptions"/> by <see cref="For"/>.
/// </summary>
/// <remarks>
/// Paths in it (a checkpoint file, the cache folder, calibration images) are read by the silos, so they must be
/// valid there. <see cref="GoodTransferOptions.Progress"/> is not sent; the silos' download log goes to their own logs.
/// </remarks>
[GenerateSerializer]
[Alias("GoodTransfer.ML.Orleans.FeaturizerSpec")]
public sealed record FeaturizerSpec
{
    /// <summary>A catalog backbone's name (<see cref="Backbone.Get"/>); <see langword="null"/> for a checkpoint file.</summary>
    [Id(0)] public string? BackboneName { get; init; }

    /// <summary>A checkpoint file (<see cref="Backbone.FromFile"/>); <see langword="null"/> for a catalog backbone.</summary>
    [Id(1)] public string? CheckpointPath { get; init; }

    /// <summary>The checkpoint file's preprocessing: resize, crop, mean and std; <see langword="null"/> for the paper's.</summary>
    [Id(2)] public int[]? ResizeAndCrop { get; init; }

    /// <summary>The checkpoint file's normalization, mean then std (six floats); <see langword="null"/> for the paper's.</summary>
    [Id(3)] public float[]? MeanAndStd { get; init; }

    /// <summary>See <see cref="GoodTransferOptions.FeatureLayer"/>.</summary>
    [Id(4)] public FeatureLayer FeatureLayer { get; init; } = FeatureLayer.Layer4;

    /// <summary>See <see cref="GoodTransferOptions.Precision"/>.</summary>
    [Id(5)] public Precision Precision { get; init; } = Precision.Float32;

    /// <summary>See <see cref="GoodTransferOptions.BatchSize"/>.</summary>
    [Id(6)] public int BatchSize { get; init; } = 8;

    /// <summary>See <see cref="GoodTransferOptions.CpuThreads"/>.</summary>
    [Id(7)] public int? CpuThreads { get; init; }

    /// <summary>See <see cref="GoodTransferOptions.GpuDeviceId"/>.</summary>
    [Id(8)] public int? GpuDeviceId { get; init; }

    /// <summary>See <see cref="GoodTransferOptions.FallbackToCpu"/>.</summary>
    [Id(9)] public bool FallbackToCpu { get; init; } = true;

    /// <summary>See <see cref="GoodTransferOptions.CacheDirectory"/>; <see langword="null"/> lets each silo use its own default.</summary>
    [Id(10)] public string? CacheDirectory { get; init; }

    /// <summary>See <see cref="GoodTransferOptions.MirrorUrl"/>.</summary>
    [Id(11)] public string? MirrorUrl { get; init; }

    /// <summary>See <see cref="GoodTransferOptions.Offline"/>.</summary>
    [Id(12)] public bool? Offline { get; init; }

    /// <summary>See <see cref="GoodTransferOptions.CalibrationImages"/>: needed for <see cref="Precision.Int8"/>, as a silo fits without data.</summary>
    [Id(13)] public string[]? CalibrationImages { get; init; }

    /// <summary>The spec of <paramref name="backbone"/> with <paramref name="options"/>.</summary>
    /// <param name="backbone">A catalog backbone or <see cref="Backbone.FromFile"/>.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <returns>The spec.</returns>
    /// <exception cref="ArgumentException"><see cref="Precision.Int8"/> without <see cref="GoodTransferOptions.CalibrationImages"/>: a silo fits without data to calibrate on.</exception>
    public static FeaturizerSpec For(Backbone backbone, GoodTransferOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        options ??= new GoodTransferOptions();
        if (options.Precision == Precision.Int8 && options.CalibrationImages is not { Count: > 0 })
        {
            throw new ArgumentException(
                "Precision.Int8 on a cluster needs CalibrationImages: each silo fits the featurizer without data to calibrate on.",
                nameof(options));
        }

        var fromFile = backbone.CheckpointPath is not null;
        var preprocessing = backbone.Preprocessing;
        return new FeaturizerSpec
        {
            BackboneName = fromFile ? null : backbone.Name,
            CheckpointPath = backbone.CheckpointPath,
            ResizeAndCrop = fromFile ? [preprocessing.ResizeSize, preprocessing.CropSize] : null,
            MeanAndStd = fromFile ? [.. preprocessing.Mean, .. preprocessing.Std] : null,
            FeatureLayer = options.FeatureLayer,
            Precision = options.Precision,
            BatchSize = options.BatchSize,
            CpuThreads = options.CpuThreads,
            GpuDeviceId = options.GpuDeviceId,
            FallbackToCpu = options.FallbackToCpu,
            CacheDirectory = options.CacheDirectory,
            MirrorUrl = options.MirrorUrl,
            Offline = options.Offline,
            CalibrationImages = options.CalibrationImages?.ToArray(),
        };
    }

    /// <summary>The backbone this spec names.</summary>
    /// <returns>The catalog entry, or the checkpoint file with its preprocessing.</returns>
    /// <exception cref="ArgumentException">The spec names neither a backbone nor a checkpoint file, or an unknown backbone.</exception>
    public Backbone ToBackbone()
    {
        if (CheckpointPath is not null)
        {
            var preprocessing = ResizeAndCrop is [var resize, var crop] && MeanAndStd is { Length: 6 } normalization
                ? new ImagePreprocessing(resize, crop, normalization[..3], normalization[3..])
                : null;
            return Backbone.FromFile(CheckpointPath, preprocessing);
        }

        return BackboneName is not null
            ? Backbone.Get(BackboneName)
            : throw new ArgumentException("The featurizer spec names neither a backbone nor a checkpoint file.", nameof(BackboneName));
    }

    /// <summary>The options this spec holds, for <c>GoodTransferFeaturize</c>.</summary>
    /// <returns>A new options object.</returns>
    public GoodTransferOptions ToOptions() => new()
    {
        FeatureLayer = FeatureLayer,
        Precision = Precision,
        BatchSize = BatchSize,
        CpuThreads = CpuThreads,
        GpuDeviceId = GpuDeviceId,
        FallbackToCpu = FallbackToCpu,
        CacheDirectory = CacheDirectory,
        MirrorUrl = MirrorUrl,
        Offline = Offline,
        CalibrationImages = CalibrationImages,
    };

    /// <summary>A text that is equal for equal specs (the arrays compared by value), to key each silo's fitted featurizers.</summary>
    internal string Key => string.Join(
        '|',
        BackboneName,
        CheckpointPath,
        ResizeAndCrop is null ? null : string.Join(',', ResizeAndCrop),
        MeanAndStd is null ? null : string.Join(',', MeanAndStd.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
        FeatureLayer,
        Precision,
        BatchSize,
        CpuThreads,
        GpuDeviceId,
        FallbackToCpu,
        CacheDirectory,
        MirrorUrl,
        Offline,
        CalibrationImages is null ? null : string.Join('\n', CalibrationImages));
}
