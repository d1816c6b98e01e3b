namespace GoodTransfer.ML;

/// <summary>What <see cref="OnnxExportExtensions.ExportOnnx"/> wrote.</summary>
/// <param name="OnnxPath">The full path of the ONNX file.</param>
/// <param name="Architecture">The torchvision architecture inferred from the weights, e.g. <c>resnet50</c>.</param>
/// <param name="FeatureSize">C, the length of each feature vector.</param>
/// <param name="FeatureLayer">The stage whose pooled output the model returns.</param>
/// <param name="CheckpointSha256">The SHA-256 of the checkpoint file, lower-case hex (also in the model's metadata).</param>
/// <param name="CheckpointLayout">Where the weights were found in the checkpoint and which prefix was removed.</param>
/// <param name="IgnoredKeys">Keys of the checkpoint deliberately left out: heads, MoCo's key encoder and queue, BatchNorm counters, training state.</param>
public sealed record OnnxExport(
    string OnnxPath,
    string Architecture,
    int FeatureSize,
    FeatureLayer FeatureLayer,
    string CheckpointSha256,
    string CheckpointLayout,
    IReadOnlyList<string> IgnoredKeys);
