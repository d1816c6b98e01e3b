using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Quantization;

namespace GoodTransfer.ML;

/// <summary>
/// A pretrained ResNet backbone: one of the paper's 24 published checkpoints (<see cref="All"/>,
/// <see cref="MocoV2ImageNet"/> ...), or a local checkpoint (<see cref="FromFile"/>), with where its
/// weights come from, how it was pretrained and the preprocessing it expects.
/// </summary>
public sealed partial class Backbone
{
    private Backbone(
        string name,
        string fileName,
        Uri? url,
        string? checkpointPath,
        PretrainingMethod? method,
        PretrainingData? data,
        Augmentations? augmentations,
        IReadOnlyList<int> paperTables,
        string? architecture,
        int? featureSize,
        string? sha256 = null)
    {
        Name = name;
        FileName = fileName;
        Url = url;
        CheckpointPath = checkpointPath;
        Method = method;
        Data = data;
        Augmentations = augmentations;
        PaperTables = paperTables;
        Architecture = architecture;
        FeatureSize = featureSize;
        Sha256 = sha256;
    }

    /// <summary>The backbone's name: the catalog member's name (<c>MocoV2ImageNet</c>), or a local file's name without extension.</summary>
    public string Name { get; }

    /// <summary>The checkpoint's file name, e.g. <c>moco_v2_imagenet.pth</c>; a mirror serves the same name.</summary>
    public string FileName { get; }

    /// <summary>Where the paper's authors publish the checkpoint; <see langword="null"/> for a local file.</summary>
    public Uri? Url { get; }

    /// <summary>The local checkpoint file for <see cref="FromFile"/>; <see langword="null"/> for catalog entries, which are downloaded into the cache.</summary>
    public string? CheckpointPath { get; }

    /// <summary>How the backbone was pretrained; <see langword="null"/> for a local file.</summary>
    public PretrainingMethod? Method { get; }

    /// <summary>What the backbone was pretrained on; <see langword="null"/> for a local file.</summary>
    public PretrainingData? Data { get; }

    /// <summary>The pretraining augmentations where the paper's page states them (Table 1); otherwise <see langword="null"/>.</summary>
    public Augmentations? Augmentations { get; }

    /// <summary>The tables of the paper that report this backbone; empty for a local file.</summary>
    public IReadOnlyList<int> PaperTables { get; }

    /// <summary>The torchvision architecture, <c>resnet50</c> for every published backbone; <see langword="null"/> for a local file until it is read.</summary>
    public string? Architecture { get; }

    /// <summary>The length of the last stage's pooled features (2048 for ResNet-50); <see langword="null"/> for a local file until it is read.</summary>
    public int? FeatureSize { get; }

    /// <summary>
    /// The SHA-256 (lower-case hex) a download of this checkpoint must have, or <see langword="null"/> when the
    /// catalog pins none. No entry pins one yet: the published files could not be fetched where this catalog
    /// was written. Every download's hash is recorded beside it in the cache (<c>&lt;file&gt;.sha256</c>) and
    /// checked on later use either way.
    /// </summary>
    public string? Sha256 { get; }

    /// <summary>The preprocessing the backbone was trained and evaluated with; the featurizer applies it.</summary>
    public ImagePreprocessing Preprocessing { get; } = ImagePreprocessing.ImageNet;

    /// <summary>
    /// A backbone for a PyTorch checkpoint on disk: a torchvision ResNet state dict in any of the
    /// layouts research code writes (at the root, under <c>model</c> or <c>state_dict</c>, with
    /// <c>module.</c>, <c>encoder_q.</c>, <c>encoder.</c> or <c>backbone.</c> prefixes), in PyTorch's
    /// zip or legacy format. The file is only read when it is used.
    /// </summary>
    /// <param name="checkpointPath">Path of the <c>.pth</c> file.</param>
    /// <returns>The backbone.</returns>
    /// <exception cref="ArgumentException">The path is empty.</exception>
    /// <exception cref="FileNotFoundException">No file exists at the path.</exception>
    public static Backbone FromFile(string checkpointPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointPath);
        var fullPath = Path.GetFullPath(checkpointPath);
        if (!File.Exists(fullPath))
        {
            throw new FileNotFoundException($"No checkpoint file at '{fullPath}'.", fullPath);
        }

        return new Backbone(Path.GetFileNameWithoutExtension(fullPath), Path.GetFileName(fullPath), url: null, fullPath, null, null, null, [], null, null);
    }

    /// <summary>
    /// Converts the checkpoint into an ONNX featurizer and writes it to <paramref name="onnxPath"/>
    /// (atomically: an existing file there is replaced only by a complete model). A catalog backbone's
    /// checkpoint is first fetched into the cache (see <see cref="GoodTransferOptions"/>).
    /// </summary>
    /// <remarks>
    /// The graph's contract: one input <c>image</c>, float32 <c>[N, 3, S, S]</c> with S the
    /// <see cref="Preprocessing"/>'s crop size (224 for every catalog backbone), RGB in [0, 1] as torchvision's
    /// <c>ToTensor</c> gives after its <c>Resize</c> and <c>CenterCrop</c>, N dynamic; the preprocessing's
    /// normalisation (ImageNet's mean 0.485/0.456/0.406, std 0.229/0.224/0.225) inside the graph; one output
    /// <c>features</c>, float32 <c>[N, C]</c>: the global-average-pooled output of the chosen stage (C = 2048
    /// for ResNet-50's last stage), which is torchvision's forward with <c>fc</c> removed. BatchNorm is folded
    /// into the convolutions. The model's metadata names the backbone, the architecture and the checkpoint's
    /// SHA-256, and records the preprocessing (<c>goodtransfer.resize_size</c>, <c>crop_size</c>, <c>mean</c>, <c>std</c>).
    /// </remarks>
    /// <param name="onnxPath">Where to write the <c>.onnx</c> file.</param>
    /// <param name="options">The feature layer (the last stage by default), the precision (float32 by default; float16; int8 with its calibration images) and, for catalog backbones, the cache, mirror and offline settings.</param>
    /// <returns>What was converted: the architecture, the feature size, the checkpoint's hash and the keys left out.</returns>
    /// <exception cref="CheckpointFormatException">The checkpoint was refused; the message names the file and the reason.</exception>
    /// <exception cref="ArgumentException"><see cref="Precision.Int8"/> without <see cref="GoodTransferOptions.CalibrationImages"/>.</exception>
    /// <exception cref="InvalidImageException">A calibration image cannot be decoded.</exception>
    public OnnxExport ExportOnnx(string onnxPath, GoodTransferOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(onnxPath);
        options ??= new GoodTransferOptions();
        var precision = ConversionPrecision.ForOptions(options, Preprocessing);
        if (CheckpointPath is { } local)
        {
            // Hashed on the second core while it is read, rather than before.
            return Convert(local, onnxPath, options.FeatureLayer, precision: precision);
        }

        var checkpoint = CheckpointStore.Resolve(this, options, AcquisitionLog.None);
        return Convert(checkpoint.Path, onnxPath, options.FeatureLayer, knownSha256: checkpoint.Sha256, precision: precision);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>This catalog entry with a pinned SHA-256: how the tests check that a download with another hash is refused.</summary>
    internal Backbone WithSha256(string sha256) =>
        new(Name, FileName, Url, CheckpointPath, Method, Data, Augmentations, PaperTables, Architecture, FeatureSize, sha256.ToLowerInvariant());

    internal OnnxExport Convert(string checkpoint, string onnxPath, FeatureLayer featureLayer, string? singleImagePath = null, string? knownSha256 = null, ConversionPrecision? precision = null)
    {
        // Hash on the second core while the first reads the weights: the file is in the page cache
        // after either pass, so the two overlap instead of adding up.
        var hashing = knownSha256 is null ? Task.Run(() => FileHashes.Compute(checkpoint)) : Task.FromResult(knownSha256);
        StateDict stateDict;
        try
        {
            stateDict = CheckpointReader.Read(checkpoint);
        }
        finally
        {
            // Never leave the hash running, whatever the reader threw; WaitAny does not rethrow its fault.
            Task.WaitAny(hashing);
        }

        var sha256 = hashing.GetAwaiter().GetResult();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["goodtransfer.backbone"] = Name,
            ["goodtransfer.checkpoint_file"] = Path.GetFileName(checkpoint),
            ["goodtransfer.checkpoint_sha256"] = sha256,
            ["goodtransfer.checkpoint_layout"] = stateDict.Layout,
        };
        var result = ResNetOnnxConverter.Convert(stateDict, onnxPath, featureLayer, Preprocessing, metadata, singleImagePath, precision);
        return new OnnxExport(
            Path.GetFullPath(onnxPath),
            result.Architecture.Name,
            result.FeatureSize,
            featureLayer,
            sha256,
            stateDict.Layout,
            stateDict.IgnoredKeys);
    }
}
