using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Serving;

/// <summary>
/// The steps of a saved model after its featurizer (a classifier: key mapping, normalization, trainer, key
/// back to text), run on features that the service computed: over a data view whose rows hold those
/// features in the featurizer's output column and a default value in every other column the steps might
/// read (an empty text, zero), since a request brings only its image.
/// </summary>
/// <remarks>Used from the batcher's thread only.</remarks>
internal sealed class DownstreamModel
{
    /// <summary>ML.NET's annotation kind of a vector's slot names, which a multiclass trainer's score column carries (the classes).</summary>
    private const string SlotNames = "SlotNames";

    private readonly IReadOnlyList<ITransformer> steps;
    private readonly DataViewSchema inputSchema;
    private readonly string featuresColumn;
    private readonly int featureSize;
    private readonly string labelColumn;
    private readonly string scoreColumn;

    private DownstreamModel(IReadOnlyList<ITransformer> steps, DataViewSchema inputSchema, string featuresColumn, int featureSize, string labelColumn, string scoreColumn, IReadOnlyList<string> classNames)
    {
        this.steps = steps;
        this.inputSchema = inputSchema;
        this.featuresColumn = featuresColumn;
        this.featureSize = featureSize;
        this.labelColumn = labelColumn;
        this.scoreColumn = scoreColumn;
        ClassNames = classNames;
    }

    /// <summary>The class of each score, from the score column's slot names; empty when the model names none.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>
    /// The steps as a classifier, or why they are not one: its output must have a text column
    /// <paramref name="labelColumn"/> and a float vector column <paramref name="scoreColumn"/>.
    /// </summary>
    public static (DownstreamModel? Model, string? WhyNot) From(IReadOnlyList<ITransformer> steps, DataViewSchema inputSchema, string featuresColumn, int featureSize, string labelColumn, string scoreColumn)
    {
        if (steps.Count == 0)
        {
            return (null, "the model holds nothing after the featurizer");
        }

        var schema = inputSchema;
        foreach (var step in steps)
        {
            schema = step.GetOutputSchema(schema);
        }

        if (schema.GetColumnOrNull(labelColumn) is not { Type: TextDataViewType })
        {
            return (null, $"the model's output has no text column '{labelColumn}' (the predicted class)");
        }

        if (schema.GetColumnOrNull(scoreColumn) is not { Type: VectorDataViewType { ItemType: NumberDataViewType number } } score || number.RawType != typeof(float))
        {
            return (null, $"the model's output has no Single vector column '{scoreColumn}' (the scores)");
        }

        var names = default(VBuffer<ReadOnlyMemory<char>>);
        IReadOnlyList<string> classNames = [];
        if (score.Annotations.Schema.GetColumnOrNull(SlotNames) is not null)
        {
            score.Annotations.GetValue(SlotNames, ref names);
            classNames = [.. names.DenseValues().Select(n => n.ToString())];
        }

        return (new DownstreamModel(steps, inputSchema, featuresColumn, featureSize, labelColumn, scoreColumn, classNames), null);
    }

    /// <summary>The classifier's answer for each row of features, in order.</summary>
    public IReadOnlyList<ImagePrediction> Predict(IReadOnlyList<float[]> features)
    {
        IDataView data = new FeatureRows(inputSchema, featuresColumn, featureSize, features);
        foreach (var step in steps)
        {
            data = step.Transform(data);
        }

        var label = data.Schema[labelColumn];
        var score = data.Schema[scoreColumn];
        using var cursor = data.GetRowCursor([label, score]);
        var labelGetter = cursor.GetGetter<ReadOnlyMemory<char>>(label);
        var scoreGetter = cursor.GetGetter<VBuffer<float>>(score);
        var text = default(ReadOnlyMemory<char>);
        var scores = default(VBuffer<float>);
        var predictions = new List<ImagePrediction>(features.Count);
        while (cursor.MoveNext())
        {
            labelGetter(ref text);
            scoreGetter(ref scores);
            predictions.Add(new ImagePrediction(text.ToString(), scores.DenseValues().ToArray(), features[predictions.Count]));
        }

        return predictions;
    }

    /// <summary>Rows with the featurizer's output schema: the features given, and default values elsewhere.</summary>
    private sealed class FeatureRows : IDataView
    {
        private readonly string featuresColumn;
        private readonly int featureSize;
        private readonly IReadOnlyList<float[]> features;

        public FeatureRows(DataViewSchema schema, string featuresColumn, int featureSize, IReadOnlyList<float[]> features)
        {
            Schema = schema;
            this.featuresColumn = featuresColumn;
            this.featureSize = featureSize;
            this.features = features;
        }

        public bool CanShuffle => false;

        public DataViewSchema Schema { get; }

        public long? GetRowCount() => features.Count;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
            new Cursor(this, [.. columnsNeeded.Select(c => c.Index)]);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            [GetRowCursor(columnsNeeded, rand)];

        private sealed class Cursor(FeatureRows rows, HashSet<int> active) : DataViewRowCursor
        {
            private long position = -1;

            public override DataViewSchema Schema => rows.Schema;

            public override long Position => position;

            public override long Batch => 0;

            public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

            public override bool MoveNext() => ++position < rows.features.Count;

            public override ValueGetter<DataViewRowId> GetIdGetter() =>
                (ref DataViewRowId value) => value = new DataViewRowId((ulong)position, 0);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (column.Name == rows.featuresColumn && !column.IsHidden && typeof(TValue) == typeof(VBuffer<float>))
                {
                    ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
                    {
                        var row = rows.features[(int)position];
                        var editor = VBufferEditor.Create(ref value, rows.featureSize);
                        row.AsSpan().CopyTo(editor.Values);
                        value = editor.Commit();
                    };
                    return (ValueGetter<TValue>)(Delegate)getter;
                }

                if (column.Type is TextDataViewType or NumberDataViewType or BooleanDataViewType or KeyDataViewType)
                {
                    // What a request leaves out (a label column, say): empty text, zero, false, a missing key.
                    return (ref TValue value) => value = default!;
                }

                return (ref TValue value) => throw new InvalidOperationException(
                    $"The model's steps after the featurizer read column '{column.Name}' ({column.Type}), which a request to the featurizer service does not bring: only the features and the default values of text and number columns are given.");
            }
        }
    }
}
