using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Conversion;
using GoodTransfer.ML.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// The chain of ML.NET's own transformers that computes what the featurizer computes, one image at a
/// time: what a saved model holds (an outside assembly cannot write entries of its own into a model zip)
/// and what <c>PredictionEngine</c> runs. Built only when first needed, so a <c>Fit</c> that is only used
/// to transform loads one ONNX session, not two.
/// </summary>
internal sealed class EquivalentChain
{
    private readonly TransformsCatalog catalog;
    private readonly DataViewSchema inputSchema;
    private readonly ImageInput input;
    private readonly ImagePreprocessing preprocessing;
    private readonly string inputColumnName;
    private readonly string outputColumnName;
    private readonly ConvertedModelCache models;
    private readonly int? gpuDeviceId;
    private readonly SessionSettings settings;

    public EquivalentChain(TransformsCatalog catalog, DataViewSchema inputSchema, ImageInput input, ImagePreprocessing preprocessing, string inputColumnName, string outputColumnName, ConvertedModelCache models, int? gpuDeviceId, SessionSettings settings)
    {
        this.catalog = catalog;
        this.inputSchema = inputSchema;
        this.input = input;
        this.preprocessing = preprocessing;
        this.inputColumnName = inputColumnName;
        this.outputColumnName = outputColumnName;
        this.models = models;
        this.gpuDeviceId = gpuDeviceId;
        this.settings = settings;
    }

    public TransformerChain<ITransformer> Build()
    {
        var steps = new List<ITransformer>();
        try
        {
            // Every step is fitted on the schema alone: nothing is learned from data.
            IDataView data = new EmptyDataView(inputSchema);
            void Add(ITransformer step)
            {
                steps.Add(step);
                data = step.Transform(data);
            }

            Add(catalog.CopyColumns(PreprocessingColumns.Input, inputColumnName).Fit(data));
            foreach (var step in input.Preprocessing(catalog, preprocessing))
            {
                Add(step.Fit(data));
            }

            using (var log = AcquisitionLog.For(catalog))
            {
                // The one-image model is verified (and repaired) when it is first needed, not at Fit.
                Add(models.Use(models.SingleImage, path => Scorer(path).Fit(data), FeatureSession.IsUnloadableModel, log));
            }

            Add(catalog.CopyColumns(outputColumnName, SingleImageGraph.OutputName).Fit(data));
            Add(catalog.DropColumns([.. ImageInput.PreprocessingColumnsOf(preprocessing), SingleImageGraph.InputName, SingleImageGraph.OutputName]).Fit(data));
            return new TransformerChain<ITransformer>([.. steps]);
        }
        catch
        {
            foreach (var step in steps.OfType<IDisposable>())
            {
                step.Dispose();
            }

            throw;
        }
    }

    private OnnxScoringEstimator Scorer(string singleImageModel) => catalog.ApplyOnnxModel(new OnnxOptions
    {
        ModelFile = singleImageModel,
        InputColumns = [SingleImageGraph.InputName],
        OutputColumns = [SingleImageGraph.OutputName],
        GpuDeviceId = gpuDeviceId,
        FallbackToCpu = settings.FallbackToCpu,
        IntraOpNumThreads = settings.CpuThreads,
    });

    /// <summary>A data view with a schema and no rows, to fit transformers that only look at the schema.</summary>
    private sealed class EmptyDataView(DataViewSchema schema) : IDataView
    {
        public bool CanShuffle => false;

        public DataViewSchema Schema => schema;

        public long? GetRowCount() => 0;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new EmptyCursor(schema);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new EmptyCursor(schema)];

        private sealed class EmptyCursor(DataViewSchema schema) : DataViewRowCursor
        {
            public override DataViewSchema Schema => schema;

            public override long Position => -1;

            public override long Batch => 0;

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
                (ref TValue value) => throw new InvalidOperationException("An empty data view has no rows.");

            public override ValueGetter<DataViewRowId> GetIdGetter() =>
                (ref DataViewRowId value) => throw new InvalidOperationException("An empty data view has no rows.");

            public override bool IsColumnActive(DataViewSchema.Column column) => true;

            public override bool MoveNext() => false;
        }
    }
}
