namespace GoodTransfer.ML;

/// <summary>
/// The one options class of GoodTransfer.ML: which features, where the ONNX model runs, and where
/// checkpoints come from. Every property has a default; <see langword="null"/> means "use the default".
/// </summary>
/// <remarks>
/// The options are read and checked once, when the estimator is made (<c>GoodTransferFeaturize</c>) or an
/// export starts: an option out of range is refused then, by an <see cref="ArgumentException"/> whose
/// <c>ParamName</c> is the option's name, and changing the object later changes nothing already made from it.
/// </remarks>
public sealed class GoodTransferOptions
{
    private int batchSize = GoodTransferDefaults.BatchSize;

    /// <summary>Which stage's pooled output becomes the features. The default is <see cref="FeatureLayer.Layer4"/>, the last stage (2048 floats for ResNet-50).</summary>
    public FeatureLayer FeatureLayer { get; set; } = GoodTransferDefaults.FeatureLayer;

    /// <summary>
    /// How many images the network runs at once when transforming a data view, from 1 to 1024. The default
    /// is 8: on the CPU larger batches gain little; on a GPU use 32 or more. Each image of a batch holds a
    /// 602 KB tensor. On the CPU, when the data view knows its row count, the last round's rows are shared
    /// evenly between the cores in smaller batches (a batch's size does not change its features).
    /// </summary>
    public int BatchSize
    {
        get => batchSize;
        set => batchSize = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(BatchSize), value, "The batch size must be positive.");
    }

    /// <summary>
    /// The arithmetic of the ONNX model. The default is <see cref="Precision.Float32"/>;
    /// <see cref="Precision.Int8"/> quantizes the model statically, calibrated on <see cref="CalibrationImages"/>
    /// (by default the first images of the data being fitted), for the CPU; <see cref="Precision.Float16"/> runs it in half precision on the GPU (<see cref="GpuDeviceId"/>).
    /// </summary>
    public Precision Precision { get; set; } = GoodTransferDefaults.Precision;

    /// <summary>
    /// Image files like those to be featurized (same kind of scene, camera, lighting), whose activation ranges
    /// calibrate the int8 model: a few dozen are enough, more only slow the conversion. They are
    /// preprocessed as the featurizer preprocesses its input. The default (<see langword="null"/>) calibrates
    /// <c>Fit</c> with <see cref="Precision.Int8"/> on the first 32 images of the data being fitted (logged on
    /// <c>MLContext.Log</c>); <c>ExportOnnx</c>, which has no data, needs them. Ignored with the float precisions.
    /// </summary>
    public IReadOnlyList<string>? CalibrationImages { get; set; }

    /// <summary>
    /// Cores the featurizer uses on the CPU, 1 or more; the default (<see langword="null"/>) is every core
    /// (<see cref="Environment.ProcessorCount"/>) when transforming a data view, and ONNX Runtime's own default
    /// for a <see cref="FeaturizerService"/>. A data view is featurized by one worker per core, each of which
    /// decodes its own batch and runs it through ONNX Runtime on one thread (no core waits for another, and
    /// the features are those of one multi-threaded run, bit for bit); a service runs each batch on this many
    /// ONNX Runtime threads.
    /// </summary>
    public int? CpuThreads { get; set; }

    /// <summary>
    /// The CUDA device to run on, with the GoodTransfer.ML.Gpu package (CUDA 13 and cuDNN 9 installed).
    /// The default (<see langword="null"/>) runs on the CPU. Use a <see cref="BatchSize"/> of 32 or more
    /// on a GPU; images are decoded on every CPU core while the GPU runs the previous batch.
    /// </summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>
    /// Whether to run on the CPU when <see cref="GpuDeviceId"/> is set but CUDA cannot be used (the CPU
    /// package, no driver, no cuDNN, a device that does not exist). The default is <see langword="true"/>:
    /// a warning naming the reason goes to <c>MLContext.Log</c> (source <c>GoodTransfer</c>) and
    /// <see cref="GoodTransferTransformer.GpuDeviceId"/> is <see langword="null"/>. When <see langword="false"/>,
    /// <c>Fit</c> throws <see cref="GpuUnavailableException"/> instead.
    /// </summary>
    public bool FallbackToCpu { get; set; } = GoodTransferDefaults.FallbackToCpu;

    /// <summary>
    /// The folder that caches downloaded checkpoints. The default is the environment variable
    /// <c>GOODTRANSFER_HOME</c>, else <c>$XDG_CACHE_HOME/goodtransfer</c>, else <c>~/.cache/goodtransfer</c>
    /// (LocalApplicationData\goodtransfer on Windows).
    /// </summary>
    public string? CacheDirectory { get; set; }

    /// <summary>
    /// A base URL that replaces the paper's (<see cref="Backbone.PaperBaseUrl"/>): the checkpoint's file
    /// name is appended, so a company mirror serves the same file names. It must be an absolute <c>http://</c>
    /// or <c>https://</c> URL. The default is the environment variable <c>GOODTRANSFER_MIRROR</c>, else the paper's URL.
    /// </summary>
    public string? MirrorUrl { get; set; }

    /// <summary>
    /// Never touch the network: a checkpoint that is not in the cache is an error naming the file, its URL
    /// and the cache path. The default is the environment variable <c>GOODTRANSFER_OFFLINE</c> (<c>1</c> or <c>true</c>), else online.
    /// </summary>
    public bool? Offline { get; set; }

    /// <summary>
    /// Receives the progress of checkpoint downloads: bytes done, the total when the server states it, and
    /// the rate; at most every 100 ms and once when a file is complete, on the thread that downloads.
    /// The default (<see langword="null"/>) reports nothing; ML.NET's log (<c>MLContext.Log</c>) still
    /// says when a download starts, resumes, retries and finishes.
    /// </summary>
    public IProgress<DownloadProgress>? Progress { get; set; }
}

/// <summary>The defaults of <see cref="GoodTransferOptions"/>, in one place.</summary>
internal static class GoodTransferDefaults
{
    public const FeatureLayer FeatureLayer = GoodTransfer.ML.FeatureLayer.Layer4;
    public const bool FallbackToCpu = true;
    public const Precision Precision = GoodTransfer.ML.Precision.Float32;
    public const int BatchSize = 8;
    public const int MaxBatchSize = 1024;
    public const string OutputColumnName = "Features";
    public const string InputColumnName = "Image";
}
