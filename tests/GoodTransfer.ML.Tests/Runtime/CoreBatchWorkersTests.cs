using System.Buffers;
using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Runtime;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>
/// The CPU's fast path, a worker per core that decodes and runs its own batches on one thread: the features are
/// those of one multi-threaded run, row by row in order, whatever the cores, batch size and row count; the
/// last round is shared between the workers; nothing leaks and nothing hangs however the reader stops.
/// </summary>
public sealed class CoreBatchWorkersTests : IDisposable
{
    private readonly MLContext mlContext = new(seed: 1);
    private readonly TemporaryFile cache = new("unused");

    public void Dispose() => cache.Dispose();

    /// <summary>The tall 257x999 photo first: its batch takes the longest, so later batches finish before it.</summary>
    private static List<string> UnevenImages()
    {
        var jpegs = FeatureFixtures.Manifest.Images.Select(i => i.FullPath).Where(p => p.EndsWith(".jpg", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var tall = jpegs.Single(p => p.EndsWith("astronaut_257x999.jpg", StringComparison.Ordinal));
        return [tall, tall, .. jpegs, .. jpegs.Take(3)];
    }

    [Theory]
    [InlineData(1, 8, true)]
    [InlineData(2, 1, true)]
    [InlineData(2, 3, true)]
    [InlineData(2, 8, false)]
    [InlineData(3, 4, true)]
    [InlineData(3, 5, false)]
    public void Features_equal_one_multithreaded_run_bit_for_bit_in_row_order(int cores, int batchSize, bool rowCountKnown)
    {
        var images = UnevenImages();
        var data = rowCountKnown ? FeatureFixtures.Paths(mlContext, images) : UnknownCount(images);
        Assert.Equal(rowCountKnown, data.GetRowCount() is not null);
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: new GoodTransferOptions { CacheDirectory = cache.Folder, CpuThreads = cores, BatchSize = batchSize }).Fit(data);

        var features = FeatureFixtures.Column(featurizer.Transform(data), "Features");

        FeatureFixtures.AssertSameBits(OneRun(featurizer, images), features);
        Assert.Equal(cores, featurizer.Session.CpuThreads);
    }

    [Fact]
    public void The_int8_model_gives_the_features_of_one_multithreaded_run_too()
    {
        var images = UnevenImages();
        var data = FeatureFixtures.Paths(mlContext, images);
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, CpuThreads = 2, BatchSize = 3, Precision = Precision.Int8 };
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: options).Fit(data);

        var features = FeatureFixtures.Column(featurizer.Transform(data), "Features");

        FeatureFixtures.AssertSameBits(OneRun(featurizer, images), features);
    }

    [Theory]
    [InlineData(21, 8, 2, new[] { 8, 7, 6 })]
    [InlineData(10, 8, 2, new[] { 5, 5 })]
    [InlineData(3, 8, 2, new[] { 2, 1 })]
    [InlineData(40, 8, 2, new[] { 8, 8, 8, 8, 4, 4 })]
    [InlineData(7, 2, 3, new[] { 2, 2, 2, 1 })]
    public void The_last_round_is_shared_between_the_workers_when_the_row_count_is_known(int rows, int batchSize, int workers, int[] expected)
    {
        var images = Enumerable.Repeat(FeatureFixtures.Manifest.Images[0].FullPath, rows).ToList();
        var data = FeatureFixtures.Paths(mlContext, images);
        using var featurizer = Fit(data);

        var sizes = new List<int>();
        using (var batches = Workers(data, featurizer, batchSize, workers, data.GetRowCount(), pool: null))
        {
            while (batches.Next() is { } batch)
            {
                sizes.Add(batch.Count);
                batch.Dispose();
            }
        }

        Assert.Equal(expected, sizes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    public void Every_rented_buffer_goes_back_however_early_the_reader_stops(int batchesTaken)
    {
        var pool = new CountingPool();
        using var bad = new TemporaryFile("not an image"u8.ToArray(), "bad.jpg");
        List<string> images = [.. UnevenImages(), bad.Path, .. UnevenImages()];
        var data = FeatureFixtures.Paths(mlContext, images);
        using var featurizer = Fit(data);

        var taken = 0;
        using (var batches = Workers(data, featurizer, batchSize: 2, workers: 2, data.GetRowCount(), pool))
        {
            for (; taken < batchesTaken && batches.Next() is { } batch; taken++)
            {
                batch.Dispose();
            }
        }

        Assert.Equal(Math.Min(batchesTaken, (images.Count + 1) / 2), taken);
        Assert.True(pool.Rented > 0 || batchesTaken == 0);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_cursor_that_fails_mid_way_serves_the_batches_before_it_then_throws_its_error()
    {
        var images = Enumerable.Repeat(FeatureFixtures.Manifest.Images[0].FullPath, 20).ToList();
        var failing = mlContext.Data.LoadFromEnumerable(Failing(images, failAt: 9));
        using var featurizer = Fit(FeatureFixtures.Paths(mlContext, images.Take(2)));
        var output = featurizer.Transform(failing);

        using var cursor = output.GetRowCursor(output.Schema);
        var rows = 0;
        var error = Assert.Throws<InvalidDataException>(() =>
        {
            while (cursor.MoveNext())
            {
                rows++;
            }
        });

        // The first batch (rows 0-7) is served; the second fails with the error of its row 9, where it is reached.
        Assert.Equal("row 9 cannot be read", error.Message);
        Assert.Equal(8, rows);
    }

    [Fact]
    public void A_data_view_opens_only_the_single_threaded_session_and_a_service_the_threaded_one()
    {
        var data = FeatureFixtures.Paths(mlContext, [FeatureFixtures.Manifest.Images[0].FullPath]);
        using var featurizer = Fit(data);

        Assert.Equal((false, true), featurizer.Session.Opened);
        _ = FeatureFixtures.Column(featurizer.Transform(data), "Features");
        Assert.Equal((false, true), featurizer.Session.Opened);
        using (FeaturizerService.Create(featurizer))
        {
            Assert.Equal((true, true), featurizer.Session.Opened);
        }
    }

    private GoodTransferTransformer Fit(IDataView data) =>
        mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: new GoodTransferOptions { CacheDirectory = cache.Folder }).Fit(data);

    private static CoreBatchWorkers Workers(IDataView data, GoodTransferTransformer featurizer, int batchSize, int workers, long? rowCount, ArrayPool<float>? pool) =>
        new(data.GetRowCursor(data.Schema), data.Schema["Path"], ImageInput.Path, source: null, TorchvisionTransform.ImageNet, featurizer.Session, batchSize, workers, rowCount, pool);

    /// <summary>Every image in one run of the session on every core, in order.</summary>
    private static List<float[]> OneRun(GoodTransferTransformer featurizer, List<string> images)
    {
        var session = featurizer.Session;
        var tensors = new float[images.Count * session.TensorLength];
        for (var i = 0; i < images.Count; i++)
        {
            TorchvisionTransform.ImageNet.ToTensor(ImageDecoder.DecodeFile(images[i]), tensors.AsSpan(i * session.TensorLength, session.TensorLength));
        }

        var features = new float[images.Count * session.FeatureSize];
        session.Run(tensors, images.Count, features);
        return [.. features.Chunk(session.FeatureSize)];
    }

    /// <summary>The paths as a data view that does not know its row count (an enumerable that is not a collection).</summary>
    private IDataView UnknownCount(IReadOnlyList<string> images) =>
        mlContext.Data.LoadFromEnumerable(images.Select(p => new FeatureFixtures.PathRow { Path = p }).Where(_ => true));

    private static IEnumerable<FeatureFixtures.PathRow> Failing(List<string> images, int failAt)
    {
        for (var i = 0; i < images.Count; i++)
        {
            if (i == failAt)
            {
                throw new InvalidDataException($"row {i} cannot be read");
            }

            yield return new FeatureFixtures.PathRow { Path = images[i] };
        }
    }
}
