using GoodTransfer.ML.Onnx;

namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// Converted ONNX models, cached beside the checkpoints and keyed by the checkpoint's SHA-256, the
/// converter's version, the feature layer and the graph's form, so that a second <c>Fit</c> with the
/// same backbone converts nothing.
/// </summary>
internal static class OnnxModelCache
{
    /// <summary>Returns the one-image ONNX model (see <see cref="SingleImageGraph"/>) for the backbone, converting it on first use.</summary>
    public static string SingleImageModel(Backbone backbone, GoodTransferOptions options)
    {
        var settings = AcquisitionSettings.From(options);
        var checkpoint = CheckpointStore.Resolve(backbone, options);
        var sha256 = Backbone.HashFile(checkpoint);
        var name = $"{sha256[..32]}-c{ResNetGraphBuilder.ConverterVersion}-{options.FeatureLayer}-single.onnx".ToLowerInvariant();
        var path = Path.Combine(settings.CacheDirectory, "onnx", name);
        if (!File.Exists(path))
        {
            backbone.Convert(checkpoint, path, options.FeatureLayer, singleImage: true, knownSha256: sha256);
        }

        return path;
    }
}
