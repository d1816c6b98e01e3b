using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.IO;
using GoodTransfer.ML.Onnx;

namespace GoodTransfer.ML.Conversion;

/// <summary>
/// The converted ONNX models of one backbone, cached in <c>&lt;cache&gt;/onnx/</c> and keyed by the checkpoint's
/// SHA-256, the converter's version, the feature layer and the preprocessing where it is not ImageNet's (what
/// changes the graph; for float16 and int8 also the rewrite's version, and for int8 a hash of the calibration
/// images' pixels), so that a second
/// <c>Fit</c> with the same backbone converts nothing.
/// </summary>
/// <remarks>
/// <para>Two forms are cached: the batched graph (the public contract, which the featurizer runs) and its
/// one-image form (see <see cref="SingleImageGraph"/>), which a saved model holds for ML.NET's OnnxTransformer.
/// Each is written atomically with a <c>.sha256</c> record beside it, the record first.</para>
/// <para>Nothing cached is trusted: a model is checked against its record when a process first uses it (and
/// again if its size or time changes), and one that is missing, damaged, unreadable, or that ONNX Runtime
/// cannot load is deleted, the reason logged, and converted again. A model without a record (cached by
/// GoodTransfer.ML 0.1.0) is recorded on first use. A conversion holds the entry's lock, so that threads and
/// processes that ask together convert once, and whoever next holds it deletes the temporary files of
/// conversions that were killed.</para>
/// </remarks>
internal sealed class ConvertedModelCache
{
    private readonly Backbone backbone;
    private readonly AcquisitionSettings acquisition;
    private readonly ConversionSettings conversion;
    private readonly ConversionPrecision precision;
    private readonly ResolvedCheckpoint checkpoint;
    private readonly string stem;

    private ConvertedModelCache(Backbone backbone, AcquisitionSettings acquisition, ConversionSettings conversion, ConversionPrecision precision, ResolvedCheckpoint checkpoint)
    {
        this.backbone = backbone;
        this.acquisition = acquisition;
        this.conversion = conversion;
        this.precision = precision;
        this.checkpoint = checkpoint;
        // Models cached before preprocessing could be chosen keep their names: ImageNet's adds nothing.
        var preprocessing = backbone.Preprocessing == ImagePreprocessing.ImageNet ? string.Empty : "-p" + backbone.Preprocessing.CacheKey;
        stem = $"{checkpoint.Sha256[..32]}-c{ResNetGraphBuilder.ConverterVersion}-{conversion.FeatureLayer}{preprocessing}{precision.CacheSuffix}".ToLowerInvariant();
        Batched = Path.Combine(acquisition.OnnxFolder, stem + "-batch.onnx");
        SingleImage = Path.Combine(acquisition.OnnxFolder, stem + "-single.onnx");
    }

    /// <summary>The batched graph: input <c>image</c> [N, 3, 224, 224], output <c>features</c> [N, C].</summary>
    public string Batched { get; }

    /// <summary>The one-image graph for ML.NET's OnnxTransformer.</summary>
    public string SingleImage { get; }

    /// <summary>The SHA-256 of the checkpoint the models were converted from, lower-case hex.</summary>
    public string CheckpointSha256 => checkpoint.Sha256;

    private string LockPath => acquisition.LockFor(stem + ".onnx");

    /// <summary>
    /// Fetches the backbone's checkpoint if needed and returns its cache entry, converting the models when they
    /// are not cached yet (or not both).
    /// </summary>
    /// <param name="backbone">The backbone.</param>
    /// <param name="acquisition">Where its checkpoint comes from.</param>
    /// <param name="conversion">What to convert it to.</param>
    /// <param name="log">Told about downloads, cache hits, repairs and conversions.</param>
    /// <param name="fittedImages">For int8 without calibration images: the preprocessed first images of the data being fitted.</param>
    public static ConvertedModelCache Open(Backbone backbone, AcquisitionSettings acquisition, ConversionSettings conversion, AcquisitionLog log, IReadOnlyList<float[]>? fittedImages = null)
    {
        var precision = BackboneConverter.PrecisionFor(conversion, backbone.Preprocessing, fittedImages);
        var checkpoint = CheckpointStore.Resolve(backbone, acquisition, log, BackboneConverter.ValidateCheckpoint);
        var cache = new ConvertedModelCache(backbone, acquisition, conversion, precision, checkpoint);
        if (File.Exists(cache.Batched) && File.Exists(cache.SingleImage))
        {
            using (var idle = CacheLock.TryAcquire(cache.LockPath))
            {
                if (idle is not null)
                {
                    cache.DeleteLeftovers(log);
                }
            }

            log.Info($"Using the cached ONNX models {cache.Batched} and {Path.GetFileName(cache.SingleImage)}.");
        }
        else
        {
            cache.Convert(log, because: null);
        }

        return cache;
    }

    /// <summary>
    /// Opens <paramref name="model"/> (<see cref="Batched"/> or <see cref="SingleImage"/>) with <paramref name="open"/>,
    /// after checking it against its record. A model that fails the check, or whose opening fails in a way
    /// <paramref name="isDamage"/> recognises (the ONNX Runtime cannot parse it), is converted again and opened once more.
    /// </summary>
    public T Use<T>(string model, Func<string, T> open, Func<Exception, bool> isDamage, AcquisitionLog log)
    {
        if (Damage(model, log) is { } damage)
        {
            Convert(log, because: damage);
        }

        try
        {
            return open(model);
        }
        catch (Exception e) when (isDamage(e))
        {
            // ML.NET's OnnxTransformer wraps ONNX Runtime's error in one whose message holds the whole inner exception, stack trace included.
            var cause = e.InnerException is { } inner && isDamage(inner) ? inner : e;
            Convert(log, because: $"{model} cannot be loaded ({cause.Message.Trim()})", refusedSha256: Sha256OrNull(model));
            return open(model);
        }
    }

    /// <summary>The SHA-256 of <paramref name="model"/>, or null if it is gone.</summary>
    private static string? Sha256OrNull(string model)
    {
        try
        {
            return FileHashes.Memoized(model);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Why <paramref name="model"/> cannot be trusted, or null if it matches its record (recorded now if it had none).</summary>
    private static string? Damage(string model, AcquisitionLog log)
    {
        if (!File.Exists(model))
        {
            return $"{model} is missing";
        }

        var recorded = Sha256Record.Read(model);
        if (recorded.Problem is { } problem)
        {
            return $"its record {problem}";
        }

        var actual = FileHashes.Memoized(model);
        if (recorded.Sha256 is null)
        {
            // Converted by GoodTransfer.ML 0.1.0, before models had records: from now on this is its hash.
            try
            {
                Sha256Record.Write(model, actual);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log.Info($"The cache cannot be written ({e.Message}): {model} is used without a SHA-256 record.");
            }

            return null;
        }

        return recorded.Sha256 == actual
            ? null
            : $"{model} has SHA-256 {actual}, but {recorded.Sha256} was recorded when it was converted: the file has changed on disk";
    }

    /// <summary>Converts the checkpoint into both models under the entry's lock, replacing whatever is there (unless another thread or process just did).</summary>
    /// <param name="log">Told why, and when it is done.</param>
    /// <param name="because">Why the cached models are not usable; <see langword="null"/> when they are not there.</param>
    /// <param name="refusedSha256">The SHA-256 of the bytes that ONNX Runtime could not load, if that is why: they are no repair, even where their record matches.</param>
    private void Convert(AcquisitionLog log, string? because, string? refusedSha256 = null)
    {
        if (because is not null)
        {
            log.Warning($"The cached ONNX model of {backbone.Name} is not usable ({because}); it is deleted and converted again.");
        }

        // A conversion shows no progress on disk until its atomic writes; it takes seconds, well within the lock's patience.
        using (CacheLock.Acquire(LockPath, $"the ONNX models of {backbone.Name}", static () => 0, acquisition.Policy, log))
        {
            DeleteLeftovers(log);
            if (because is null && File.Exists(Batched) && File.Exists(SingleImage))
            {
                // Converted by whoever held the lock before.
                return;
            }

            // Repaired by whoever held the lock before; not where a model still holds the bytes ONNX Runtime refused,
            // which match their record when it was written on this first use (0.1.0's models had none).
            if (because is not null && Damage(Batched, log) is null && Damage(SingleImage, log) is null &&
                refusedSha256 != FileHashes.Memoized(Batched) && refusedSha256 != FileHashes.Memoized(SingleImage))
            {
                return;
            }

            foreach (var model in (string[])[Batched, SingleImage])
            {
                if (File.Exists(model))
                {
                    File.Delete(model);
                }

                Sha256Record.Delete(model);
            }

            var clock = Stopwatch.StartNew();
            BackboneConverter.Convert(backbone, checkpoint.Path, Batched, conversion.FeatureLayer, precision, SingleImage, checkpoint.Sha256, recordSha256: true);
            log.Info(string.Create(CultureInfo.InvariantCulture, $"Converted {backbone.Name} to ONNX in {clock.Elapsed.TotalSeconds:0.00} s: {Batched}."));
        }
    }

    private void DeleteLeftovers(AcquisitionLog log)
    {
        Leftovers.Delete(acquisition.OnnxFolder, Path.GetFileName(Batched) + ".", log);
        Leftovers.Delete(acquisition.OnnxFolder, Path.GetFileName(SingleImage) + ".", log);
    }
}
