namespace GoodTransfer.ML;

/// <summary>What <see cref="OnnxExportExtensions.ExportOnnx"/> wrote.</summary>
/// <param name="OnnxPath">The full path of the ONNX file.</param>
/// <param name="Architecture">
/// The architecture inferred from the names and shapes of the weights, as the model's metadata records it.
/// Where the shape is one of torchvision's ResNets, torchvision's model name: <c>resnet18</c>, <c>resnet34</c>,
/// <c>resnet50</c>, <c>resnet101</c>, <c>resnet152</c>, <c>resnext50_32x4d</c>, <c>resnext101_32x8d</c>,
/// <c>resnext101_64x4d</c>, <c>wide_resnet50_2</c> or <c>wide_resnet101_2</c>. Otherwise a description of the
/// shape: the block kind, the blocks per stage, the stem's width, (for bottleneck blocks) the width inside a
/// block per stage, the output channels per stage and (for bottleneck blocks) the groups, e.g.
/// <c>resnet(basic,[2,1,1,1],stem=8,out=[8,16,24,32])</c> or
/// <c>resnet(bottleneck,[2,1,1,1],stem=8,width=[8,16,32,64],out=[32,64,128,256],groups=4)</c>.
/// </param>
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
