using GoodTransfer.ML.Runtime;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>The fast path's producer returns every buffer it rents, however its reader stops.</summary>
public sealed class BatchProducerTests
{
    private readonly MLContext mlContext = new(seed: 1);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    public void Every_rented_buffer_goes_back_when_the_reader_stops_after_some_batches(int batchesTaken)
    {
        var pool = new CountingPool();
        var paths = Enumerable.Repeat(FeatureFixtures.Manifest.Images.Select(i => i.FullPath), 3).SelectMany(p => p).ToList();
        var data = FeatureFixtures.Paths(mlContext, paths);

        var taken = 0;
        using (var producer = new BatchProducer(data.GetRowCursor(data.Schema), data.Schema["Path"], ImageInput.Path, source: null, GoodTransfer.ML.Imaging.TorchvisionTransform.ImageNet, batchSize: 2, pool: pool))
        {
            for (; taken < batchesTaken && producer.Next() is { } batch; taken++)
            {
                Assert.True(pool.Outstanding > 0);
                batch.Dispose();
            }
        }

        Assert.Equal(Math.Min(batchesTaken, (paths.Count + 1) / 2), taken);
        Assert.True(pool.Rented > 0 || batchesTaken == 0);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_batch_returns_its_buffer_once_however_often_it_is_disposed()
    {
        var pool = new CountingPool();
        var batch = new ImageBatch(3, 10, pool);
        batch.Tensor(2).Fill(1f);

        batch.Dispose();
        batch.Dispose();

        Assert.Equal(1, pool.Rented);
        Assert.Equal(0, pool.Outstanding);
        Assert.Throws<ObjectDisposedException>(() => batch.Tensor(0).Length);
    }
}
