using System.Globalization;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>
/// <see cref="Backbone.FromFile"/> with a preprocessing other than ImageNet's featurizes as the checkpoint was
/// trained (against real torchvision and PyTorch), from every kind of input column, and keeps doing so once
/// saved and loaded, in this process and in a fresh one.
/// </summary>
public sealed class CustomPreprocessingTests : IDisposable
{
    private readonly MLContext mlContext = new(seed: 1);
    private readonly TemporaryFile cache = new("unused");

    public static TheoryData<string> Transforms => PreprocessingFixtures.TransformNames();

    public void Dispose() => cache.Dispose();

    [Theory]
    [MemberData(nameof(Transforms))]
    public void The_featurizer_applies_the_backbones_own_preprocessing_and_matches_PyTorch(string name)
    {
        var fixture = PreprocessingFixtures.Instance.Transform(name);
        var data = FeatureFixtures.Paths(mlContext, fixture.Images.Select(i => i.FullPath));
        using var featurizer = Featurizer(fixture, "Path").Fit(data);

        var actual = FeatureFixtures.Column(featurizer.Transform(data), "Features");

        var reference = fixture.Images.Select(i => i.ReadFeatures()).ToList();
        Assert.Equal(reference.Count, actual.Count);
        Similarity.AssertClose([.. actual.SelectMany(f => f)], [.. reference.SelectMany(f => f)], reference.Count, 0.99999, 1e-3, name);
        Assert.Contains(Directory.GetFiles(Path.Combine(cache.Folder, "onnx"), "*.onnx"), f => f.Contains($"-p{fixture.Preprocessing.CacheKey}-", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Transforms))]
    public void Images_bytes_and_paths_give_the_same_features_and_so_does_the_saved_model(string name)
    {
        var fixture = PreprocessingFixtures.Instance.Transform(name);
        var files = fixture.Images.Select(i => i.FullPath).Where(IsOpaque).ToList();
        var paths = FeatureFixtures.Paths(mlContext, files);
        var bytes = mlContext.Data.LoadFromEnumerable(files.Select(f => new FeatureFixtures.BytesRow { Bytes = File.ReadAllBytes(f) }).ToArray());
        var images = mlContext.Transforms.LoadImages("Image", null, "Path").Fit(paths).Transform(paths);

        using var fromPaths = Featurizer(fixture, "Path").Fit(paths);
        using var fromBytes = Featurizer(fixture, "Bytes").Fit(bytes);
        using var fromImages = Featurizer(fixture, "Image").Fit(images);
        var expected = FeatureFixtures.Column(fromPaths.Transform(paths), "Features");

        Assert.Equal(expected, FeatureFixtures.Column(fromBytes.Transform(bytes), "Features"));
        Assert.Equal(expected, FeatureFixtures.Column(fromImages.Transform(images), "Features"));
        Assert.Equal(expected, FeatureFixtures.FeaturesAfterSaveAndLoad(mlContext, fromPaths, paths));
        Assert.Equal(expected, FeatureFixtures.FeaturesAfterSaveAndLoad(mlContext, fromBytes, bytes));
        Assert.Equal(expected, FeatureFixtures.FeaturesAfterSaveAndLoad(mlContext, fromImages, images));
    }

    [Fact]
    public void A_saved_model_keeps_its_preprocessing_in_a_fresh_process_offline_with_an_empty_cache()
    {
        var fixture = PreprocessingFixtures.Instance.Transforms.First(t => t.Crop != ImagePreprocessing.ImageNet.CropSize);
        var files = fixture.Images.Select(i => i.FullPath).ToList();
        var data = FeatureFixtures.Paths(mlContext, files);
        var model = mlContext.Transforms.LoadImages("Image", null, "Path").Append(Featurizer(fixture, "Image")).Fit(data);
        var expected = FeatureFixtures.Column(model.Transform(data), "Features");
        using var saved = new TemporaryFile("model.zip");
        mlContext.Model.Save(model, data.Schema, saved.Path);
        using var emptyCache = new TemporaryFile("unused");

        var lines = LoadCheck.Run(emptyCache.Folder, [saved.Path, "Features", .. files]);

        Assert.Equal(files.Count, lines.Length);
        for (var i = 0; i < files.Count; i++)
        {
            Assert.Equal(expected[i], lines[i].Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)));
        }

        var engine = mlContext.Model.CreatePredictionEngine<FeatureFixtures.PathRow, FeaturesRow>(model);
        Assert.Equal(expected[0], engine.Predict(new FeatureFixtures.PathRow { Path = files[0] }).Features);
    }

    [Fact]
    public void The_catalog_backbones_keep_ImageNets_preprocessing_and_a_file_gets_it_by_default()
    {
        Assert.All(Backbone.All, b => Assert.Equal(ImagePreprocessing.ImageNet, b.Preprocessing));
        Assert.Equal(ImagePreprocessing.ImageNet, FeatureFixtures.Backbone.Preprocessing);
        var custom = PreprocessingFixtures.Instance.Transforms[0].Preprocessing;

        Assert.Equal(custom, Backbone.FromFile(FixtureManifest.PathOf(PreprocessingFixtures.Instance.Checkpoint), custom).Preprocessing);
    }

    private GoodTransferEstimator Featurizer(PreprocessingFixture fixture, string inputColumn) =>
        mlContext.Transforms.GoodTransferFeaturize(
            Backbone.FromFile(FixtureManifest.PathOf(PreprocessingFixtures.Instance.Checkpoint), fixture.Preprocessing),
            inputColumnName: inputColumn,
            options: new GoodTransferOptions { CacheDirectory = cache.Folder, BatchSize = 3 });

    // ML.NET's MLImage premultiplies alpha, so only opaque images are the same pixels from every input kind.
    private static bool IsOpaque(string file) => !Path.GetFileName(file).Contains("rgba", StringComparison.OrdinalIgnoreCase);

    private sealed class FeaturesRow
    {
        public float[] Features { get; set; } = [];
    }
}
