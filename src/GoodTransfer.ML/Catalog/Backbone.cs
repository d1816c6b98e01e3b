using System.Security.Cryptography;
using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Onnx;

namespace GoodTransfer.ML;

/// <summary>
/// A pretrained ResNet backbone: where its PyTorch checkpoint is, and how to turn it into an ONNX
/// featurizer. <see cref="FromFile"/> makes one for a checkpoint on disk.
/// </summary>
public sealed class Backbone
{
    private Backbone(string name, string checkpointPath)
    {
        Name = name;
        CheckpointPath = checkpointPath;
    }

    /// <summary>A short name for the backbone; for a local file, the file name without its extension.</summary>
    public string Name { get; }

    /// <summary>The full path of the local checkpoint file.</summary>
    public string CheckpointPath { get; }

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

        return new Backbone(Path.GetFileNameWithoutExtension(fullPath), fullPath);
    }

    /// <summary>
    /// Converts the checkpoint into an ONNX featurizer and writes it to <paramref name="onnxPath"/>
    /// (atomically: an existing file there is replaced only by a complete model).
    /// </summary>
    /// <remarks>
    /// The graph's contract: one input <c>image</c>, float32 <c>[N, 3, 224, 224]</c>, RGB in [0, 1]
    /// as torchvision's <c>ToTensor</c> gives, N dynamic; ImageNet normalisation (mean 0.485/0.456/0.406,
    /// std 0.229/0.224/0.225) inside the graph; one output <c>features</c>, float32 <c>[N, C]</c>: the
    /// global-average-pooled output of the chosen stage (C = 2048 for ResNet-50's last stage), which is
    /// torchvision's forward with <c>fc</c> removed. BatchNorm is folded into the convolutions.
    /// The model's metadata names the backbone, the architecture and the checkpoint's SHA-256.
    /// </remarks>
    /// <param name="onnxPath">Where to write the <c>.onnx</c> file.</param>
    /// <param name="featureLayer">Which stage's pooled output the model returns; the last stage by default.</param>
    /// <returns>What was converted: the architecture, the feature size, the checkpoint's hash and the keys left out.</returns>
    /// <exception cref="CheckpointFormatException">The checkpoint was refused; the message names the file and the reason.</exception>
    public OnnxExport ExportOnnx(string onnxPath, FeatureLayer featureLayer = FeatureLayer.Layer4)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(onnxPath);
        // Hash on the second core while the first reads the weights: the file is in the page cache
        // after either pass, so the two overlap instead of adding up.
        var hashing = Task.Run(() => HashFile(CheckpointPath));
        StateDict stateDict;
        try
        {
            stateDict = CheckpointReader.Read(CheckpointPath);
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
            ["goodtransfer.checkpoint_file"] = Path.GetFileName(CheckpointPath),
            ["goodtransfer.checkpoint_sha256"] = sha256,
            ["goodtransfer.checkpoint_layout"] = stateDict.Layout,
        };
        var result = ResNetOnnxConverter.Convert(stateDict, onnxPath, featureLayer, metadata);
        return new OnnxExport(
            Path.GetFullPath(onnxPath),
            result.Architecture.Name,
            result.FeatureSize,
            featureLayer,
            sha256,
            stateDict.Layout,
            stateDict.IgnoredKeys);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        // Lower-case hex, as sha256sum prints it.
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }
}
