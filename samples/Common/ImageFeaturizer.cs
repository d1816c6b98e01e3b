using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;
using static System.FormattableString;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// The pipeline both samples share: <c>LoadImages</c> then <c>GoodTransferFeaturize</c>, fitted on a list of
/// labelled image files, and run once over them with a progress bar.
/// </summary>
internal static class ImageFeaturizer
{
    /// <summary>The images as ML.NET rows: <c>Path</c> and <c>Label</c>, the input schema of every model the samples save.</summary>
    public static IDataView Images(MLContext mlContext, IReadOnlyList<LabelledImage> images) =>
        mlContext.Data.LoadFromEnumerable(images.Select(i => new ImageInput { Path = i.Path, Label = i.Label }).ToList());

    /// <summary>
    /// Fits the featurizer: fetches the checkpoint into the cache (with a download bar) and converts it to ONNX,
    /// or finds both in the cache. The caller disposes it (it holds an ONNX Runtime session).
    /// </summary>
    /// <param name="mlContext">The samples' ML.NET context.</param>
    /// <param name="backbone">The backbone to featurize with.</param>
    /// <param name="images">The images, as <see cref="Images"/> gives them.</param>
    /// <param name="label">How the sample names this step, e.g. <c>[1/4] MocoV2ImageNet</c>.</param>
    public static TransformerChain<GoodTransferTransformer> Fit(MLContext mlContext, Backbone backbone, IDataView images, string label)
    {
        var how = backbone.CheckpointPath is null
            ? "its checkpoint is downloaded and converted to ONNX once, then cached"
            : "the local checkpoint is converted to ONNX once, then cached";
        SampleConsole.Line($"{label}: preparing the featurizer ({how})...");
        var options = new GoodTransferOptions { Progress = DownloadProgressBar.Shared };
        var estimator = mlContext.Transforms.LoadImages("Image", imageFolder: null, nameof(ImageInput.Path))
            .Append(mlContext.Transforms.GoodTransferFeaturize(backbone, options: options));
        return SampleConsole.WithProgress(DownloadProgressBar.Columns, context =>
        {
            using var shown = DownloadProgressBar.Shared.ShowIn(context);
            return estimator.Fit(images);
        });
    }

    /// <summary>
    /// Runs <paramref name="featurizer"/> over every image once, in order, and keeps the features in memory.
    /// An image that cannot be decoded is a failure naming its file.
    /// </summary>
    public static FeatureSet Featurize(ITransformer featurizer, IDataView images, IReadOnlyList<LabelledImage> list)
    {
        var transformed = featurizer.Transform(images);
        var column = transformed.Schema["Features"];
        var size = ((VectorDataViewType)column.Type).Size;
        var vectors = new float[list.Count][];
        var clock = Stopwatch.StartNew();
        var row = 0;
        try
        {
            SampleConsole.WithProgress(Columns, context =>
            {
                var task = context.AddTask("Featurizing", maxValue: list.Count);
                using var cursor = transformed.GetRowCursor([column]);
                var getter = cursor.GetGetter<VBuffer<float>>(column);
                var value = default(VBuffer<float>);
                while (cursor.MoveNext())
                {
                    getter(ref value);
                    vectors[row++] = value.DenseValues().ToArray();
                    task.Increment(1);
                }

                return row;
            });
        }
        catch (Exception) when (FirstUndecodable(list, row) is { } bad)
        {
            throw SampleFailure.BadInput($"image '{bad.Path}' cannot be decoded ({bad.Reason}); remove or replace it");
        }

        var elapsed = clock.Elapsed;
        SampleConsole.Line(Invariant($"  Featurized {list.Count} images in {elapsed.TotalSeconds:F1} s ({list.Count / elapsed.TotalSeconds:F1} images/s), {size} features each"));
        return new FeatureSet(list, vectors, size, elapsed);
    }

    /// <summary>The columns of the featurizing bar: bar, percentage, images done of all, rate, time left.</summary>
    private static IEnumerable<ProgressColumn> Columns =>
        [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new CountColumn("images"), new RateColumn("images"), new RemainingTimeColumn()];

    /// <summary>
    /// The first image from <paramref name="row"/> on that ML.NET's decoder refuses, or <see langword="null"/>.
    /// ML.NET's <c>LoadImages</c> reports a file it cannot decode without its name ("Invalid input stream
    /// contents"), and the featurizer reads a batch ahead, so the failed row is at or after the last row read:
    /// decoding the next few images again finds it, on the failure path only.
    /// </summary>
    private static (string Path, string Reason)? FirstUndecodable(IReadOnlyList<LabelledImage> list, int row)
    {
        const int Window = 64;
        foreach (var image in list.Skip(row).Take(Window))
        {
            try
            {
                // From a stream, as LoadImages reads it: the same decoder, and its message about the contents.
                using var file = File.OpenRead(image.Path);
                using var decoded = MLImage.CreateFromStream(file);
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException or NotSupportedException)
            {
                return (image.Path, e.Message);
            }
        }

        return null;
    }
}

/// <summary>An image file and its class, as the saved models take them.</summary>
internal sealed class ImageInput
{
    public string Path { get; set; } = string.Empty;

    public string Label { get; set; } = string.Empty;
}

/// <summary>The features of a list of images, in its order, and how long they took.</summary>
internal sealed class FeatureSet(IReadOnlyList<LabelledImage> images, float[][] vectors, int size, TimeSpan elapsed)
{
    public IReadOnlyList<LabelledImage> Images { get; } = images;

    public IReadOnlyList<float[]> Vectors { get; } = vectors;

    public int Size { get; } = size;

    public TimeSpan Elapsed { get; } = elapsed;

    /// <summary>
    /// The rows <paramref name="rows"/> as a data view with <c>Label</c> and a known-size <c>Features</c> vector,
    /// for training on features that are already computed. With <paramref name="folds"/>, each row also has a
    /// <c>Fold</c> key, one key per fold, for <c>CrossValidate</c>.
    /// </summary>
    public IDataView AsDataView(MLContext mlContext, IReadOnlyList<int> rows, (int[] Of, int Count)? folds = null)
    {
        var schema = SchemaDefinition.Create(typeof(FeatureRow));
        schema[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Size);
        if (folds is { } f)
        {
            schema[nameof(FeatureRow.Fold)].ColumnType = new KeyDataViewType(typeof(uint), f.Count);
        }
        else
        {
            schema.RemoveAll(c => c.MemberName == nameof(FeatureRow.Fold));
        }

        var data = rows.Select(r => new FeatureRow
        {
            Label = Images[r].Label,
            Features = Vectors[r],
            // LoadFromEnumerable reads a key member as 0-based and stores it plus one (measured: 0, 1, 2 read back as keys 1, 2, 3).
            Fold = folds is { } k ? (uint)k.Of[r] : 0,
        });
        return mlContext.Data.LoadFromEnumerable(data.ToList(), schema);
    }

    private sealed class FeatureRow
    {
        public string Label { get; set; } = string.Empty;

        public float[] Features { get; set; } = [];

        public uint Fold { get; set; }
    }
}
