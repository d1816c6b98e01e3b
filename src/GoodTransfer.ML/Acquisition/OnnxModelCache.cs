using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Quantization;

namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// Converted ONNX models, cached in <c>&lt;cache&gt;/onnx/</c> and keyed by the checkpoint's SHA-256, the
/// converter's version and the feature layer (the options that change the graph; for float16 and int8 also
/// the rewrite's version, and for int8 a hash of the calibration images' pixels), so that a second <c>Fit</c>
/// with the same backbone converts nothing. The checkpoint's hash comes from its <c>.sha256</c> record
/// (checked once per process), not from reading it again; a conversion holds a lock, so that threads and
/// processes that ask together convert once.
/// </summary>
internal static class OnnxModelCache
{
    /// <summary>
    /// Returns the backbone's ONNX models, converting them on first use: the batched graph (the public
    /// contract, which the featurizer runs) and its one-image form (see <see cref="SingleImageGraph"/>),
    /// which a saved model holds for ML.NET's OnnxTransformer.
    /// </summary>
    public static CachedModels Models(Backbone backbone, GoodTransferOptions options, AcquisitionLog log)
    {
        var settings = AcquisitionSettings.From(options);
        var precision = ConversionPrecision.ForOptions(options, backbone.Preprocessing);
        var checkpoint = CheckpointStore.Resolve(backbone, options, log);
        var stem = $"{checkpoint.Sha256[..32]}-c{ResNetGraphBuilder.ConverterVersion}-{options.FeatureLayer}{precision.CacheSuffix}".ToLowerInvariant();
        var models = new CachedModels(Path.Combine(settings.OnnxFolder, stem + "-batch.onnx"), Path.Combine(settings.OnnxFolder, stem + "-single.onnx"));
        if (!Complete(models))
        {
            // A conversion shows no progress on disk until its atomic writes; it takes seconds, well within the lock's patience.
            using (CacheLock.Acquire(settings.LockFor(stem + ".onnx"), $"the ONNX models of {backbone.Name}", static () => 0, options.AcquisitionPolicy, log))
            {
                if (!Complete(models))
                {
                    var clock = Stopwatch.StartNew();
                    backbone.Convert(checkpoint.Path, models.Batched, options.FeatureLayer, models.SingleImage, checkpoint.Sha256, precision);
                    log.Info(string.Create(CultureInfo.InvariantCulture, $"Converted {backbone.Name} to ONNX in {clock.Elapsed.TotalSeconds:0.00} s: {models.Batched}."));
                    return models;
                }
            }
        }

        log.Info($"Using the cached ONNX models {models.Batched} and {Path.GetFileName(models.SingleImage)}.");
        return models;
    }

    // The one-image form is written last, so its presence means both are complete.
    private static bool Complete(CachedModels models) => File.Exists(models.SingleImage) && File.Exists(models.Batched);
}

/// <summary>The two cached forms of one converted backbone.</summary>
/// <param name="Batched">The batched graph: input <c>image</c> [N, 3, S, S] (S the backbone's crop size), output <c>features</c> [N, C].</param>
/// <param name="SingleImage">The one-image graph for ML.NET's OnnxTransformer.</param>
internal sealed record CachedModels(string Batched, string SingleImage);
