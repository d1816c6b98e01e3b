using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>The batched fast path: any batch size gives the same features; errors stay on their row; nothing runs unasked.</summary>
public sealed class BatchedFeaturizerTests : IDisposable
{
    private readonly MLContext mlContext = new(seed: 1);
    private readonly TemporaryFile cache = new("unused");

    public void Dispose() => cache.Dispose();

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(64)]
    public void Every_batch_size_gives_the_features_of_batch_size_one(int batchSize)
    {
        var data = FeatureFixtures.Paths(mlContext, FeatureFixtures.Manifest.Images.Select(i => i.FullPath).Take(7));

        var single = Features(data, new GoodTransferOptions { CacheDirectory = cache.Folder, BatchSize = 1 });
        var batched = Features(data, new GoodTransferOptions { CacheDirectory = cache.Folder, BatchSize = batchSize });

        Assert.Equal(7, batched.Count);
        Assert.Equal(single, batched);
    }

    [Fact]
    public void A_bad_image_fails_its_own_row_only_naming_file_and_row()
    {
        using var bad = new TemporaryFile([0xFF, 0xD8, 0xFF, 0x00, 0x01], "truncated.jpg");
        var images = FeatureFixtures.Manifest.Images.Where(i => i.MLImageExact).Take(2).Select(i => i.FullPath).ToList();
        var data = FeatureFixtures.Paths(mlContext, [images[0], bad.Path, images[1]]);
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: new GoodTransferOptions { CacheDirectory = cache.Folder }).Fit(data);
        var expected = FeatureFixtures.Column(featurizer.Transform(FeatureFixtures.Paths(mlContext, images)), "Features");

        var output = featurizer.Transform(data);
        using var cursor = output.GetRowCursor([output.Schema["Features"]]);
        var getter = cursor.GetGetter<VBuffer<float>>(output.Schema["Features"]);
        var features = default(VBuffer<float>);

        Assert.True(cursor.MoveNext());
        getter(ref features);
        Assert.Equal(expected[0], features.DenseValues());
        var error = Assert.Throws<InvalidImageException>(() => cursor.MoveNext());
        Assert.Equal(bad.Path, error.ImageSource);
        Assert.Contains("row 1", error.Message, StringComparison.Ordinal);
        Assert.True(cursor.MoveNext());
        getter(ref features);
        Assert.Equal(expected[1], features.DenseValues());
        Assert.False(cursor.MoveNext());
    }

    [Fact]
    public void Reading_other_columns_runs_no_network_and_decodes_no_image()
    {
        using var bad = new TemporaryFile("not an image"u8.ToArray(), "bad.png");
        var good = FeatureFixtures.Paths(mlContext, [FeatureFixtures.Manifest.Images[0].FullPath]);
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: new GoodTransferOptions { CacheDirectory = cache.Folder }).Fit(good);

        var output = featurizer.Transform(FeatureFixtures.Paths(mlContext, [bad.Path, bad.Path]));
        var paths = output.GetColumn<string>("Path").ToList();

        Assert.Equal([bad.Path, bad.Path], paths);
    }

    [Fact]
    public void Batch_size_must_be_positive()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new GoodTransferOptions { BatchSize = 0 });

        Assert.Contains("batch size", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    private List<float[]> Features(IDataView data, GoodTransferOptions options)
    {
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: options).Fit(data);
        return FeatureFixtures.Column(featurizer.Transform(data), "Features");
    }
}
