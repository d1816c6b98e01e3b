using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Runtime;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML;

/// <summary>
/// A fitted featurizer: turns each image of the input column into the backbone's features, a
/// <c>Vector&lt;Single, C&gt;</c> column. Lazy like every ML.NET transformer; safe to use from several
/// threads at once (each cursor and each <c>PredictionEngine</c> has its own buffers).
/// </summary>
/// <remarks>
/// <para><see cref="Transform"/> runs the network on batches of images (<see cref="GoodTransferOptions.BatchSize"/>),
/// decoding and resizing on every core (on a GPU, while the previous batch runs). Saving a pipeline
/// that contains it (<c>mlContext.Model.Save</c>) stores an equivalent chain of ML.NET's own transformers
/// (a column copy, the torchvision preprocessing as a custom mapping, ONNX Runtime scoring of the converted
/// backbone one image at a time, column copies and drops), ONNX bytes included, so <c>mlContext.Model.Load</c>
/// works offline with an empty cache and returns that chain. <c>PredictionEngine</c> uses the chain too.</para>
/// <para>It holds ONNX Runtime sessions (native memory): dispose it, or the pipeline that holds it,
/// when done. A <c>PredictionEngine</c> made with ML.NET's defaults owns its transformer, so disposing the
/// engine disposes the featurizer; <c>PredictionEngineOptions.OwnsTransformer = false</c> keeps it.</para>
/// <para>Disposing it while other threads read cursors or predict is safe: <see cref="Dispose"/> waits for
/// the network runs and predictions in flight, then releases the sessions. A cursor then stops at its next
/// batch, and every later call (a prediction, <see cref="Transform"/>, <see cref="GetOutputSchema"/>,
/// <see cref="GetRowToRowMapper"/>, saving) throws an <see cref="ObjectDisposedException"/> whose
/// <see cref="ObjectDisposedException.ObjectName"/> names it, e.g. <c>GoodTransferTransformer (MocoV2ImageNet)</c>.
/// Its properties stay readable.</para>
/// </remarks>
public sealed class GoodTransferTransformer : ITransformer, IDisposable
{
    private readonly Lazy<TransformerChain<ITransformer>> chain;
    private readonly FeatureSession session;
    private readonly InFlightGuard calls;
    private readonly int batchSize;
    private readonly TorchvisionTransform transform;
    private readonly ImageInput input;

    /// <summary>
    /// Takes ownership of <paramref name="session"/> and of the chain once built; <paramref name="calls"/>
    /// (from <see cref="NewGuard"/>) is the guard that <paramref name="session"/> enters on each run.
    /// </summary>
    internal GoodTransferTransformer(EquivalentChain chain, FeatureSession session, InFlightGuard calls, TorchvisionTransform transform, int batchSize, ImageInput input, string inputColumnName, string outputColumnName, FeaturizerProvenance provenance)
    {
        this.chain = new Lazy<TransformerChain<ITransformer>>(chain.Build, LazyThreadSafetyMode.ExecutionAndPublication);
        this.session = session;
        this.calls = calls;
        this.batchSize = batchSize;
        this.transform = transform;
        this.input = input;
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        BackboneName = provenance.BackboneName;
        CheckpointSha256 = provenance.CheckpointSha256;
        FeatureLayer = provenance.FeatureLayer;
        Precision = provenance.Precision;
    }

    /// <summary>The column the images are read from.</summary>
    public string InputColumnName { get; }

    /// <summary>The column the features are written to.</summary>
    public string OutputColumnName { get; }

    /// <summary>The name of the backbone, e.g. <c>MocoV2ImageNet</c>.</summary>
    public string BackboneName { get; }

    /// <summary>The SHA-256 of the checkpoint file the features come from, lower-case hex: what a feature file records to say which weights made it.</summary>
    public string CheckpointSha256 { get; }

    /// <summary>The stage whose pooled output the features are (<see cref="GoodTransferOptions.FeatureLayer"/>).</summary>
    public FeatureLayer FeatureLayer { get; }

    /// <summary>The arithmetic of the network that computes the features (<see cref="GoodTransferOptions.Precision"/>).</summary>
    public Precision Precision { get; }

    /// <summary>The length of each feature vector: 2048 for ResNet-50's last stage, 3840 for <see cref="FeatureLayer.AllLayers"/>.</summary>
    public int FeatureLength => session.FeatureSize;

    /// <summary>
    /// The CUDA device the featurizer runs on, or <see langword="null"/> on the CPU: also when a GPU was
    /// asked for and it fell back to the CPU (<see cref="GoodTransferOptions.FallbackToCpu"/>).
    /// </summary>
    public int? GpuDeviceId => session.GpuDeviceId;

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or not of the kind this featurizer was fitted on.</exception>
    /// <exception cref="ObjectDisposedException">The featurizer is disposed.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        calls.ThrowIfClosed();
        Check(inputSchema);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, session.FeatureSize));
        return builder.ToSchema();
    }

    /// <inheritdoc/>
    /// <remarks>The mapper's rows run the equivalent chain: <see cref="Dispose"/> waits for a value being read from one, and a value read after it throws <see cref="ObjectDisposedException"/>.</remarks>
    /// <exception cref="ObjectDisposedException">The featurizer is disposed.</exception>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        using var call = calls.Enter();
        Check(inputSchema);
        return new GuardedRowToRowMapper(((ITransformer)chain.Value).GetRowToRowMapper(inputSchema), calls);
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The featurizer is disposed.</exception>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new FeaturizingDataView(input, GetOutputSchema(input.Schema), session, this.input, transform, InputColumnName, batchSize);
    }

    /// <summary>Saves the equivalent chain of ML.NET transformers (an outside assembly cannot add entries of its own to a model zip).</summary>
    /// <param name="ctx">The save context.</param>
    /// <exception cref="ObjectDisposedException">The featurizer is disposed.</exception>
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        using var call = calls.Enter();
        ((ICanSaveModel)chain.Value).Save(ctx);
    }

    /// <summary>
    /// Releases the ONNX Runtime sessions once the network runs and predictions in flight on other threads
    /// have finished; calls made from now on throw <see cref="ObjectDisposedException"/>. Disposing again does nothing.
    /// </summary>
    /// <remarks>Called from inside a prediction on this thread (a getter upstream that disposes the featurizer), it returns at once, and the sessions are released when that prediction ends.</remarks>
    public void Dispose() => calls.Close(() =>
    {
        session.Dispose();
        if (chain.IsValueCreated)
        {
            chain.Value.Dispose();
        }
    });

    /// <summary>The guard a transformer fitted on <paramref name="backboneName"/> and its session share.</summary>
    internal static InFlightGuard NewGuard(string backboneName)
    {
        var name = $"{nameof(GoodTransferTransformer)} ({backboneName})";
        return new InFlightGuard(name, $"{name} was disposed: its ONNX Runtime sessions are released.");
    }

    private void Check(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var actual = InputColumnCheck.Check(inputSchema, InputColumnName);
        if (actual != input)
        {
            throw new ArgumentOutOfRangeException(
                nameof(inputSchema),
                $"Schema mismatch for input column '{InputColumnName}': this featurizer was fitted on {input.Description}, got {actual.Description}.");
        }
    }
}

/// <summary>What a fitted featurizer records about where its features come from.</summary>
/// <param name="BackboneName">The backbone's name.</param>
/// <param name="CheckpointSha256">The checkpoint file's SHA-256, lower-case hex.</param>
/// <param name="FeatureLayer">The stage the features are taken from.</param>
/// <param name="Precision">The arithmetic of the converted model.</param>
internal sealed record FeaturizerProvenance(string BackboneName, string CheckpointSha256, FeatureLayer FeatureLayer, Precision Precision);
