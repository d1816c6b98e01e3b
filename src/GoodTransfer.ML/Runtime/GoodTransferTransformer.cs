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
/// <para>It holds an ONNX Runtime session (native memory): dispose it, or the pipeline that holds it,
/// when done. Disposing it while a cursor is still reading is not allowed.</para>
/// </remarks>
public sealed class GoodTransferTransformer : ITransformer, IDisposable
{
    private readonly Lazy<TransformerChain<ITransformer>> chain;
    private readonly FeatureSession session;
    private readonly int batchSize;
    private readonly TorchvisionTransform transform;
    private readonly ImageInput input;

    internal GoodTransferTransformer(EquivalentChain chain, FeatureSession session, TorchvisionTransform transform, int batchSize, ImageInput input, string inputColumnName, string outputColumnName, string backboneName)
    {
        this.chain = new Lazy<TransformerChain<ITransformer>>(chain.Build, LazyThreadSafetyMode.ExecutionAndPublication);
        this.session = session;
        this.batchSize = batchSize;
        this.transform = transform;
        this.input = input;
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        BackboneName = backboneName;
    }

    /// <summary>The column the images are read from.</summary>
    public string InputColumnName { get; }

    /// <summary>The column the features are written to.</summary>
    public string OutputColumnName { get; }

    /// <summary>The name of the backbone, e.g. <c>MocoV2ImageNet</c>.</summary>
    public string BackboneName { get; }

    /// <summary>
    /// The CUDA device the featurizer runs on, or <see langword="null"/> on the CPU: also when a GPU was
    /// asked for and it fell back to the CPU (<see cref="GoodTransferOptions.FallbackToCpu"/>).
    /// </summary>
    public int? GpuDeviceId => session.GpuDeviceId;

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or not of the kind this featurizer was fitted on.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        Check(inputSchema);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, session.FeatureSize));
        return builder.ToSchema();
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        Check(inputSchema);
        return ((ITransformer)chain.Value).GetRowToRowMapper(inputSchema);
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new FeaturizingDataView(input, GetOutputSchema(input.Schema), session, this.input, transform, InputColumnName, batchSize);
    }

    /// <summary>Saves the equivalent chain of ML.NET transformers (an outside assembly cannot add entries of its own to a model zip).</summary>
    /// <param name="ctx">The save context.</param>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)chain.Value).Save(ctx);

    /// <summary>Releases the ONNX Runtime sessions.</summary>
    public void Dispose()
    {
        session.Dispose();
        if (chain.IsValueCreated)
        {
            chain.Value.Dispose();
        }
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
