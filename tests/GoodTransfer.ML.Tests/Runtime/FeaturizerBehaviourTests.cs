using System.Globalization;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>The featurizer behaves as an ML.NET citizen: schema errors up front, lazy, previewable, thread-safe, saveable.</summary>
public sealed class FeaturizerBehaviourTests : IDisposable
{
    private readonly MLContext mlContext = new(seed: 1);
    private readonly TemporaryFile cache = new("unused");

    private GoodTransferOptions Options => new() { CacheDirectory = cache.Folder };

    private static List<string> ImagePaths => FeatureFixtures.Manifest.Images.Where(i => i.MLImageExact).Select(i => i.FullPath).Take(4).ToList();

    public void Dispose() => cache.Dispose();

    [Fact]
    public void Missing_input_column_is_named_in_GetOutputSchema_and_Fit()
    {
        var data = FeatureFixtures.Paths(mlContext, ImagePaths);
        var estimator = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: Options);

        var shapeError = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(SchemaShapes.Of(data.Schema)));
        var fitError = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(data));

        Assert.Contains("Could not find input column 'Image'", shapeError.Message, StringComparison.Ordinal);
        Assert.Contains("Could not find input column 'Image'", fitError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_column_type_is_a_schema_mismatch_naming_column_type_and_expected_types()
    {
        var data = mlContext.Data.LoadFromEnumerable(new[] { new FloatRow { Image = 1f } });
        var estimator = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: Options);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(SchemaShapes.Of(data.Schema)));
        Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(data));

        Assert.Contains("Schema mismatch for input column 'Image'", error.Message, StringComparison.Ordinal);
        Assert.Contains("got Single", error.Message, StringComparison.Ordinal);
        Assert.Contains("LoadImages", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resized_images_are_refused_with_advice()
    {
        var data = FeatureFixtures.Paths(mlContext, ImagePaths);
        var resized = mlContext.Transforms.LoadImages("Loaded", null, "Path").Append(mlContext.Transforms.ResizeImages("Image", 224, 224, "Loaded")).Fit(data).Transform(data);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: Options).Fit(resized));

        Assert.Contains("remove ResizeImages", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_is_a_known_size_float_vector_and_the_schema_is_checked_before_fitting()
    {
        var data = FeatureFixtures.Paths(mlContext, ImagePaths);
        var estimator = mlContext.Transforms.LoadImages("Image", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, "Embedding", options: Options));

        var shape = estimator.GetOutputSchema(SchemaShapes.Of(data.Schema));
        var transformed = estimator.Fit(data).Transform(data);

        var column = shape.Single(c => c.Name == "Embedding");
        Assert.Equal(SchemaShape.Column.VectorKind.Vector, column.Kind);
        Assert.Equal(NumberDataViewType.Single, column.ItemType);
        var type = Assert.IsType<VectorDataViewType>(transformed.Schema["Embedding"].Type);
        Assert.True(type.IsKnownSize);
        Assert.Equal(128, type.Size);
        Assert.DoesNotContain(transformed.Schema, c => c.Name.StartsWith("goodtransfer", StringComparison.Ordinal));
    }

    [Fact]
    public void Transform_is_lazy_and_a_bad_image_fails_when_read_naming_the_file()
    {
        using var bad = new TemporaryFile("not text, not an image"u8.ToArray(), "broken.jpg");
        var good = FeatureFixtures.Paths(mlContext, ImagePaths);
        var featurizer = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: Options).Fit(good);

        var lazy = featurizer.Transform(FeatureFixtures.Paths(mlContext, [bad.Path]));
        var thrown = Assert.ThrowsAny<Exception>(() => FeatureFixtures.Column(lazy, "Features"));

        // ML.NET's parallel cursors wrap a row's exception in their own; ours is inside, naming the file.
        var error = Unwrap<InvalidImageException>(thrown);
        Assert.Contains(bad.Path, error.Message, StringComparison.Ordinal);
        Assert.Equal(bad.Path, error.ImageSource);
    }

    [Fact]
    public void Preview_and_PredictionEngine_give_the_same_features_as_Transform()
    {
        var data = FeatureFixtures.Paths(mlContext, ImagePaths);
        var model = mlContext.Transforms.LoadImages("Image", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: Options))
            .Fit(data);
        var expected = FeatureFixtures.Column(model.Transform(data), "Features");

        var preview = model.Transform(data).Preview(maxRows: 2);
        using var engine = mlContext.Model.CreatePredictionEngine<FeatureFixtures.PathRow, FeaturesRow>(model);
        var predicted = engine.Predict(new FeatureFixtures.PathRow { Path = ImagePaths[1] });

        var previewed = ((VBuffer<float>)preview.RowView[1].Values.Single(v => v.Key == "Features").Value).DenseValues().ToArray();
        Assert.Equal(expected[1], previewed);
        Assert.Equal(expected[1], predicted.Features);
    }

    [Fact]
    public void Several_threads_at_once_get_the_features_of_one_thread()
    {
        var data = FeatureFixtures.Paths(mlContext, ImagePaths);
        var model = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: Options).Fit(data);
        var expected = FeatureFixtures.Column(model.Transform(data), "Features");

        var results = new List<float[]>[4];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            results[i] = FeatureFixtures.Column(model.Transform(data), "Features"));

        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public void Saved_pipeline_loads_in_a_fresh_process_offline_with_an_empty_cache_and_gives_identical_features()
    {
        var paths = ImagePaths;
        var data = FeatureFixtures.Paths(mlContext, paths);
        var model = mlContext.Transforms.LoadImages("Image", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: Options))
            .Fit(data);
        var expected = FeatureFixtures.Column(model.Transform(data), "Features");
        using var saved = new TemporaryFile("model.zip");
        mlContext.Model.Save(model, data.Schema, saved.Path);
        using var emptyCache = new TemporaryFile("unused");

        var lines = LoadCheck.Run(emptyCache.Folder, [saved.Path, "Features", .. paths]);

        Assert.Equal(paths.Count, lines.Length);
        for (var i = 0; i < paths.Count; i++)
        {
            var loaded = lines[i].Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(expected[i], loaded);
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(emptyCache.Folder));
    }

    private static T Unwrap<T>(Exception thrown)
        where T : Exception
    {
        for (Exception? e = thrown; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        Assert.Fail($"expected a {typeof(T).Name} in the exception chain, got {thrown}");
        return null!;
    }

    private sealed class FloatRow
    {
        public float Image { get; set; }
    }

    private sealed class FeaturesRow
    {
        public float[] Features { get; set; } = [];
    }
}
