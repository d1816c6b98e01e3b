using GoodTransfer.ML.Onnx;

namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// Converted ONNX models, cached beside the checkpoints and keyed by the checkpoint's SHA-256, the
/// converter's version, the feature layer and the graph's form, so that a second <c>Fit</c> with the
/// same backbone converts nothing.
/// </summary>
internal static class OnnxModelCache
{
    /// <summary>
    /// Returns the backbone's ONNX models, converting them on first use: the batched graph (the public
    /// contract, which the featurizer runs) and its one-image form (see <see cref="SingleImageGraph"/>),
    /// which a saved model holds for ML.NET's OnnxTransformer.
    /// </summary>
    public static CachedModels Models(Backbone backbone, GoodTransferOptions options)
    {
        var settings = AcquisitionSettings.From(options);
        var checkpoint = CheckpointStore.Resolve(backbone, options);
        var sha256 = Backbone.HashFile(checkpoint);
        var stem = Path.Combine(settings.CacheDirectory, "onnx", $"{sha256[..32]}-c{ResNetGraphBuilder.ConverterVersion}-{options.FeatureLayer}".ToLowerInvariant());
        var models = new CachedModels(stem + "-batch.onnx", stem + "-single.onnx");

        // The one-image form is written last, so its presence means both are complete.
        if (!File.Exists(models.SingleImage) || !File.Exists(models.Batched))
        {
            backbone.Convert(checkpoint, models.Batched, options.FeatureLayer, models.SingleImage, sha256);
        }

        return models;
    }
}

/// <summary>The two cached forms of one converted backbone.</summary>
/// <param name="Batched">The batched graph: input <c>image</c> [N, 3, 224, 224], output <c>features</c> [N, C].</param>
/// <param name="SingleImage">The one-image graph for ML.NET's OnnxTransformer.</param>
internal sealed record CachedModels(string Batched, string SingleImage);
