using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Onnx;

namespace GoodTransfer.ML.Conversion;

/// <summary>
/// Converted ONNX models, cached in <c>&lt;cache&gt;/onnx/</c> and keyed by the checkpoint's SHA-256, the
/// converter's version and the feature layer (the options that change the graph; for float16 and int8 also
/// the rewrite's version, and for int8 a hash of the calibration images' pixels), so that a second <c>Fit</c>
/// with the same backbone converts nothing. The checkpoint's hash comes from its <c>.sha256</c> record
/// (checked once per process), not from reading it again; a conversion holds a lock, so that threads and
/// processes that ask together convert once.
/// </summary>
internal static class ConvertedModelCache
{
    /// <summary>
    /// Returns the backbone's ONNX models, fetching its checkpoint and converting it on first use: the
    /// batched graph (the public contract, which the featurizer runs) and its one-image form (see
    /// <see cref="SingleImageGraph"/>), which a saved model holds for ML.NET's OnnxTransformer.
    /// </summary>
    public static CachedModels Models(Backbone backbone, AcquisitionSettings acquisition, ConversionSettings conversion, AcquisitionLog log)
    {
        var precision = BackboneConverter.PrecisionFor(conversion);
        var checkpoint = CheckpointStore.Resolve(backbone, acquisition, log, BackboneConverter.ValidateCheckpoint);
        var stem = $"{checkpoint.Sha256[..32]}-c{ResNetGraphBuilder.ConverterVersion}-{conversion.FeatureLayer}{precision.CacheSuffix}".ToLowerInvariant();
        var models = new CachedModels(Path.Combine(acquisition.OnnxFolder, stem + "-batch.onnx"), Path.Combine(acquisition.OnnxFolder, stem + "-single.onnx"));
        if (!Complete(models))
        {
            // A conversion shows no progress on disk until its atomic writes; it takes seconds, well within the lock's patience.
            using (CacheLock.Acquire(acquisition.LockFor(stem + ".onnx"), $"the ONNX models of {backbone.Name}", static () => 0, acquisition.Policy, log))
            {
                if (!Complete(models))
                {
                    var clock = Stopwatch.StartNew();
                    BackboneConverter.Convert(backbone, checkpoint.Path, models.Batched, conversion.FeatureLayer, precision, models.SingleImage, checkpoint.Sha256);
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
/// <param name="Batched">The batched graph: input <c>image</c> [N, 3, 224, 224], output <c>features</c> [N, C].</param>
/// <param name="SingleImage">The one-image graph for ML.NET's OnnxTransformer.</param>
internal sealed record CachedModels(string Batched, string SingleImage);
