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
        string? sha256 = null,
        ImagePreprocessing? preprocessing = null)
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
        Preprocessing = preprocessing ?? ImagePreprocessing.ImageNet;
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

    /// <summary>
    /// The architecture: torchvision's <c>resnet50</c> for every published backbone. <see langword="null"/> for a
    /// local file, whose shape is only known once it is converted: <see cref="OnnxExport.Architecture"/> then
    /// names it (torchvision's name, or a description of a shape that is not a torchvision model).
    /// </summary>
    public string? Architecture { get; }

    /// <summary>
    /// The length of the last stage's pooled features (2048 for ResNet-50); <see langword="null"/> for a local
    /// file, whose shape is only known once it is converted (<see cref="OnnxExport.FeatureSize"/> is then the
    /// size for the layer converted).
    /// </summary>
    public int? FeatureSize { get; }

    /// <summary>
    /// The SHA-256 (lower-case hex) a download of this checkpoint must have, or <see langword="null"/> when the
    /// catalog pins none. No entry pins one yet: the published files could not be fetched where this catalog
    /// was written. Every download's hash is recorded beside it in the cache (<c>&lt;file&gt;.sha256</c>) and
    /// checked on later use either way.
    /// </summary>
    public string? Sha256 { get; }

    /// <summary>
    /// The preprocessing the backbone was trained and evaluated with, which the featurizer applies exactly:
    /// <see cref="ImagePreprocessing.ImageNet"/> for every catalog entry, or what <see cref="FromFile"/> was given.
    /// </summary>
    public ImagePreprocessing Preprocessing { get; }

    /// <summary>
    /// A backbone for a PyTorch checkpoint on disk: a torchvision ResNet state dict in any of the
    /// layouts research code writes (at the root, under <c>model</c> or <c>state_dict</c>, with
    /// <c>module.</c>, <c>encoder_q.</c>, <c>encoder.</c> or <c>backbone.</c> prefixes), in PyTorch's
    /// zip or legacy format. The file is only read when it is used.
    /// </summary>
    /// <param name="checkpointPath">Path of the <c>.pth</c> file.</param>
    /// <param name="preprocessing">
    /// The preprocessing the checkpoint was trained and evaluated with. The default is
    /// <see cref="ImagePreprocessing.ImageNet"/> (<c>Resize(256)</c>, <c>CenterCrop(224)</c>, ImageNet's mean and
    /// std), as for the paper's backbones; torchvision's newer ResNet-50 weights (<c>IMAGENET1K_V2</c>), say, are
    /// evaluated with <c>new ImagePreprocessing(232, 224, ImagePreprocessing.ImageNet.Mean, ImagePreprocessing.ImageNet.Std)</c>.
    /// </param>
    /// <returns>The backbone.</returns>
    /// <exception cref="ArgumentException">The path is empty.</exception>
    /// <exception cref="FileNotFoundException">No file exists at the path.</exception>
    public static Backbone FromFile(string checkpointPath, ImagePreprocessing? preprocessing = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointPath);
        var fullPath = Path.GetFullPath(checkpointPath);
        if (!File.Exists(fullPath))
        {
            throw new FileNotFoundException($"No checkpoint file at '{fullPath}'.", fullPath);
        }

        return new Backbone(Path.GetFileNameWithoutExtension(fullPath), Path.GetFileName(fullPath), url: null, fullPath, null, null, null, [], null, null, preprocessing: preprocessing);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>This catalog entry with a pinned SHA-256: how the tests check that a download with another hash is refused.</summary>
    internal Backbone WithSha256(string sha256) =>
        new(Name, FileName, Url, CheckpointPath, Method, Data, Augmentations, PaperTables, Architecture, FeatureSize, sha256.ToLowerInvariant(), Preprocessing);
}
