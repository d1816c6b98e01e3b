using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Conversion;
using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Runtime;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML;

/// <summary>
/// The estimator of <see cref="GoodTransferCatalog.GoodTransferFeaturize"/>: fitting it fetches the
/// backbone's checkpoint (once, into the cache), converts it to ONNX (once), and returns a
/// <see cref="GoodTransferTransformer"/> that turns each image into the backbone's features.
/// </summary>
public sealed class GoodTransferEstimator : IEstimator<GoodTransferTransformer>
{
    private readonly TransformsCatalog catalog;
    private readonly FeaturizerSettings settings;

    internal GoodTransferEstimator(TransformsCatalog catalog, Backbone backbone, string outputColumnName, string inputColumnName, FeaturizerSettings settings)
    {
        this.catalog = catalog;
        this.settings = settings;
        Backbone = backbone;
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
    }

    /// <summary>The backbone whose features this estimator computes.</summary>
    public Backbone Backbone { get; }

    /// <summary>The column the features are written to.</summary>
    public string OutputColumnName { get; }

    /// <summary>The column the images are read from.</summary>
    public string InputColumnName { get; }

    /// <summary>
    /// Checks the input column (an image, encoded image bytes, or an image path) and returns the
    /// schema with the output column added: a known-size vector of <see cref="float"/>.
    /// </summary>
    /// <param name="inputSchema">The schema of the data that will be fitted.</param>
    /// <returns>The output schema.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or of another type; the message names it, its type and the types expected.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        InputColumnCheck.Check(inputSchema, InputColumnName);

        // ML.NET lets no outside code make a SchemaShape column; a no-op custom mapping's own output
        // schema is the input's columns plus ours, exactly what this estimator produces.
        var definition = SchemaDefinition.Create(typeof(FeatureShapeRow));
        definition[0].ColumnName = OutputColumnName;
        return catalog.CustomMapping<NoInputRow, FeatureShapeRow>(static (_, _) => { }, contractName: null, outputSchemaDefinition: definition)
            .GetOutputSchema(inputSchema);
    }

    /// <summary>
    /// Fetches and converts the backbone if it is not cached yet, and returns the fitted featurizer.
    /// Nothing is learned from <paramref name="input"/>: only its schema is checked.
    /// </summary>
    /// <param name="input">The training data; its input column must hold images, encoded image bytes or image paths.</param>
    /// <returns>The featurizer. It holds an ONNX Runtime session: dispose it when done.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or of another type.</exception>
    /// <exception cref="CheckpointFormatException">The checkpoint was refused.</exception>
    /// <exception cref="IOException">The checkpoint could not be fetched (offline and not cached, or the download failed).</exception>
    /// <exception cref="GpuUnavailableException">A GPU was asked for, cannot be used, and <see cref="GoodTransferOptions.FallbackToCpu"/> is off.</exception>
    /// <exception cref="InvalidOperationException"><see cref="Precision.Float16"/> without <see cref="GoodTransferOptions.GpuDeviceId"/>.</exception>
    public GoodTransferTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var imageInput = InputColumnCheck.Check(input.Schema, InputColumnName);
        if (settings.Conversion.Precision == Precision.Float16 && settings.Session.GpuDeviceId is null)
        {
            throw new InvalidOperationException(
                "Precision.Float16 is for the GPU: set GoodTransferOptions.GpuDeviceId (with the GoodTransfer.ML.Gpu package). " +
                "On the CPU, Float32 is exact and faster than float16, and Int8 is faster still.");
        }

        var transform = new TorchvisionTransform(Backbone.Preprocessing);
        ConvertedModelCache models;
        FeatureSession session;
        var calls = GoodTransferTransformer.NewGuard(Backbone.Name);
        using (var log = AcquisitionLog.For(catalog))
        {
            var calibration = settings.Conversion is { Precision: Precision.Int8, CalibrationImages.Count: 0 }
                ? CalibrationSample.FirstImages(input, InputColumnName, imageInput, transform, log)
                : null;
            models = ConvertedModelCache.Open(Backbone, settings.Acquisition, settings.Conversion, log, calibration);

            // The fast path's session decides the device: ML.NET's OnnxTransformer cannot fall back from a
            // CUDA provider that the ONNX Runtime package lacks, so the saved chain only gets the GPU if the session got it.
            session = models.Use(models.Batched, path => FeatureSession.Open(path, settings.Session, calls, FeatureSessionUse.CoreBatches, log.Warning), FeatureSession.IsUnloadableModel, log);
            log.Info($"JPEGs are decoded by {TurboJpeg.Status}.");
        }

        var chain = new EquivalentChain(catalog, input.Schema, imageInput, transform.Preprocessing, InputColumnName, OutputColumnName, models, session.GpuDeviceId, settings.Session);
        var provenance = new FeaturizerProvenance(Backbone.Name, models.CheckpointSha256, settings.Conversion.FeatureLayer, settings.Conversion.Precision);
        return new GoodTransferTransformer(chain, session, calls, transform, settings.Session.BatchSize, imageInput, InputColumnName, OutputColumnName, provenance);
    }

    /// <summary>The empty input of the schema probe in <see cref="GetOutputSchema"/>.</summary>
    internal sealed class NoInputRow
    {
    }

    /// <summary>The output of the schema probe: a known-size float vector; its size does not reach a SchemaShape.</summary>
    internal sealed class FeatureShapeRow
    {
        [VectorType(1)]
        public float[] Features { get; set; } = [];
    }
}
