using GoodTransfer.ML.Checkpoints;

namespace GoodTransfer.ML.Onnx;

/// <summary>What <see cref="ResNetOnnxConverter.Convert"/> wrote.</summary>
/// <param name="Architecture">The ResNet inferred from the state dict.</param>
/// <param name="FeatureLayer">The stage the features come from.</param>
/// <param name="FeatureSize">The length of the <c>features</c> output per image.</param>
/// <param name="OnnxPath">The full path of the ONNX file.</param>
internal sealed record ConversionResult(ResNetArchitecture Architecture, FeatureLayer FeatureLayer, int FeatureSize, string OnnxPath);

/// <summary>
/// Converts the state dict of a torchvision ResNet into an ONNX featurizer (see
/// <see cref="ResNetGraphBuilder"/> for the graph's contract): infer and check the architecture,
/// fold the BatchNorms, build the graph, write it atomically.
/// </summary>
internal static class ResNetOnnxConverter
{
    /// <summary>Converts a state dict into an ONNX file.</summary>
    /// <param name="stateDict">
    /// The backbone's state dict. It is consumed: its convolution weights are overwritten with the folded
    /// ones, so read the checkpoint again to convert it again (for another layer, say).
    /// </param>
    /// <param name="onnxPath">Where to write the model; an existing file is replaced only once the new one is complete.</param>
    /// <param name="layer">Which stage's pooled output the model computes.</param>
    /// <param name="preprocessing">The backbone's preprocessing (<see cref="Backbone.Preprocessing"/>): the model's input is its crop, its normalisation is in the graph, and all of it is in the metadata.</param>
    /// <param name="metadata">Extra <c>metadata_props</c> entries, e.g. the backbone name and the checkpoint's SHA-256.</param>
    /// <param name="singleImagePath">If set, also write the one-image form of <see cref="SingleImageGraph"/> (for ML.NET's OnnxTransformer) there, from the same conversion.</param>
    /// <param name="precision">The precision to write (<see cref="ConversionPrecision"/>; int8's calibration tensors must come from the same preprocessing); <see langword="null"/> is float32.</param>
    /// <param name="recordSha256">Write each model's SHA-256 record beside it before moving it into place (for the converted-model cache).</param>
    /// <returns>The architecture, the feature size and the path written.</returns>
    /// <exception cref="CheckpointMismatchException">The state dict is not a complete torchvision ResNet; nothing was changed or written.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layer"/> is not a defined value.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    public static ConversionResult Convert(StateDict stateDict, string onnxPath, FeatureLayer layer, ImagePreprocessing preprocessing, IReadOnlyDictionary<string, string> metadata, string? singleImagePath = null, ConversionPrecision? precision = null, bool recordSha256 = false)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentException.ThrowIfNullOrEmpty(onnxPath);
        ArgumentNullException.ThrowIfNull(preprocessing);
        ArgumentNullException.ThrowIfNull(metadata);
        if (!Enum.IsDefined(layer))
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, "Unknown feature layer.");
        }

        var architecture = ResNetArchitecture.Infer(stateDict);
        var folded = BatchNormFolding.FoldAll(architecture, stateDict);
        var model = (precision ?? ConversionPrecision.Float32).Apply(ResNetGraphBuilder.Build(architecture, folded, layer, preprocessing, metadata));

        var fullPath = Path.GetFullPath(onnxPath);
        OnnxModelWriter.Write(model, fullPath, recordSha256);
        if (singleImagePath is not null)
        {
            SingleImageGraph.Apply(model, architecture.FeatureSize(layer), preprocessing);
            OnnxModelWriter.Write(model, Path.GetFullPath(singleImagePath), recordSha256);
        }

        return new ConversionResult(architecture, layer, architecture.FeatureSize(layer), fullPath);
    }
}
