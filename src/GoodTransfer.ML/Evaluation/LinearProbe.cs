using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace GoodTransfer.ML;

/// <summary>
/// The linear probe that compares backbones, as the paper does: a linear classifier trained on frozen
/// features. <see cref="Estimator"/> is the classifier; <see cref="CrossValidate"/> scores it on one data set
/// by stratified k-fold cross-validation, so that backbones can be ranked on a user's own images.
/// </summary>
public static class LinearProbe
{
    /// <summary>
    /// The probe: the text label to a key (classes in sorted order), each feature standardized to zero mean
    /// and unit variance, multinomial logistic regression (L-BFGS, ML.NET's default regularization), and the
    /// predicted key back to its class name in <c>PredictedLabel</c>.
    /// </summary>
    /// <remarks>
    /// Centring matters: a ResNet's pooled features can share a large common offset (for a random-weight
    /// ResNet-50 on small grey images, a mean of about 39 against a spread of about 2 across images), which
    /// drowns their differences when the vectors are only scaled.
    /// </remarks>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="labelColumnName">The class column, text.</param>
    /// <param name="featuresColumnName">The features, a known-size vector of <see cref="float"/>.</param>
    /// <returns>The estimator.</returns>
    public static IEstimator<ITransformer> Estimator(MLContext mlContext, string labelColumnName = "Label", string featuresColumnName = "Features")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return mlContext.Transforms.Conversion.MapValueToKey(labelColumnName, keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Append(mlContext.Transforms.NormalizeMeanVariance(featuresColumnName, fixZero: false))
            .Append(mlContext.MulticlassClassification.Trainers.LbfgsMaximumEntropy(labelColumnName, featuresColumnName))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
    }

    /// <summary>
    /// Cross-validates <see cref="Estimator"/> on <paramref name="data"/>: the rows are dealt into
    /// <paramref name="folds"/> folds class by class after a shuffle with <paramref name="seed"/> (so every fold
    /// holds nearly the same share of each class, and fold sizes differ by at most one), and each fold is held
    /// out once while the probe trains on the others.
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="data">Rows with a text <c>Label</c> and a known-size <c>Features</c> vector, e.g. <see cref="FeatureFile.Load"/>'s.</param>
    /// <param name="folds">How many folds, 2 or more, and at most the number of rows.</param>
    /// <param name="seed">The seed of the shuffle.</param>
    /// <returns>The accuracy on each held-out fold, in fold order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="folds"/> is below 2 or above the number of rows.</exception>
    /// <exception cref="ArgumentException">The data has fewer than two classes, an empty label, or lacks the columns.</exception>
    public static LinearProbeResult CrossValidate(MLContext mlContext, IDataView data, int folds = 5, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(data);
        var (labels, features, size) = ReadRows(data);
        if (folds < 2 || folds > labels.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(folds), folds, $"Cross-validation needs from 2 to {labels.Count} folds (one per row at most).");
        }

        if (labels.FindIndex(string.IsNullOrEmpty) is var empty and >= 0)
        {
            throw new ArgumentException($"Row {empty} has no label: every row of a linear probe needs its class.", nameof(data));
        }

        if (labels.Distinct(StringComparer.Ordinal).Count() < 2)
        {
            throw new ArgumentException($"The data has one class ('{labels[0]}'); a classifier needs at least two.", nameof(data));
        }

        var foldOf = StratifiedFolds(labels, folds, seed);
        var schema = SchemaDefinition.Create(typeof(ProbeRow));
        schema[nameof(ProbeRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
        schema[nameof(ProbeRow.Fold)].ColumnType = new KeyDataViewType(typeof(uint), folds);
        // LoadFromEnumerable stores a key member plus one (0 reads back as key 1): fold f becomes key f + 1.
        var rows = labels.Select((label, i) => new ProbeRow { Label = label, Features = features[i], Fold = (uint)foldOf[i] }).ToList();
        var view = mlContext.Data.LoadFromEnumerable(rows, schema);

        // One key per fold: CrossValidate keeps the rows of a key together, and key k of K lands in fold k.
        var runs = mlContext.MulticlassClassification.CrossValidate(view, Estimator(mlContext), folds, "Label", samplingKeyColumnName: nameof(ProbeRow.Fold), seed: seed);
        var ordered = runs.OrderBy(r => r.Fold).ToList();
        foreach (var run in ordered)
        {
            (run.Model as IDisposable)?.Dispose();
        }

        return new LinearProbeResult([.. ordered.Select(r => r.Metrics.MicroAccuracy)]);
    }

    private static (List<string> Labels, List<float[]> Features, int Size) ReadRows(IDataView data)
    {
        var labelColumn = data.Schema.GetColumnOrNull("Label") ?? throw new ArgumentException("The data has no 'Label' column.", nameof(data));
        var featuresColumn = data.Schema.GetColumnOrNull("Features") ?? throw new ArgumentException("The data has no 'Features' column.", nameof(data));
        if (labelColumn.Type is not TextDataViewType)
        {
            throw new ArgumentException($"Schema mismatch for input column 'Label': expected String, got {labelColumn.Type}.", nameof(data));
        }

        if (featuresColumn.Type is not VectorDataViewType { ItemType: NumberDataViewType, Size: > 0 } vector || vector.ItemType != NumberDataViewType.Single)
        {
            throw new ArgumentException($"Schema mismatch for input column 'Features': expected a known-size vector of Single, got {featuresColumn.Type}.", nameof(data));
        }

        var labels = new List<string>();
        var features = new List<float[]>();
        using var cursor = data.GetRowCursor([labelColumn, featuresColumn]);
        var labelGetter = cursor.GetGetter<ReadOnlyMemory<char>>(labelColumn);
        var featuresGetter = cursor.GetGetter<VBuffer<float>>(featuresColumn);
        ReadOnlyMemory<char> label = default;
        VBuffer<float> value = default;
        while (cursor.MoveNext())
        {
            labelGetter(ref label);
            featuresGetter(ref value);
            labels.Add(label.ToString());
            features.Add(value.DenseValues().ToArray());
        }

        return (labels, features, vector.Size);
    }

    private static int[] StratifiedFolds(List<string> labels, int folds, int seed)
    {
        var random = new Random(seed);
        var foldOf = new int[labels.Count];
        var dealt = 0;
        foreach (var members in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i], StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToArray()))
        {
            random.Shuffle(members);
            foreach (var row in members)
            {
                foldOf[row] = dealt++ % folds;
            }
        }

        return foldOf;
    }

    private sealed class ProbeRow
    {
        public string Label { get; set; } = string.Empty;

        public float[] Features { get; set; } = [];

        public uint Fold { get; set; }
    }
}

/// <summary>What <see cref="LinearProbe.CrossValidate"/> measured: the probe's accuracy on each held-out fold.</summary>
/// <param name="FoldAccuracies">The accuracy (micro, the share of rows classified right) on each fold, in fold order.</param>
public sealed record LinearProbeResult(IReadOnlyList<double> FoldAccuracies)
{
    /// <summary>The mean accuracy across folds.</summary>
    public double Mean => FoldAccuracies.Average();

    /// <summary>The sample standard deviation of the accuracy across folds, as the paper's tables give it.</summary>
    public double StandardDeviation
    {
        get
        {
            var mean = Mean;
            return FoldAccuracies.Count < 2 ? 0 : Math.Sqrt(FoldAccuracies.Sum(a => (a - mean) * (a - mean)) / (FoldAccuracies.Count - 1));
        }
    }
}
