using System.Collections.Concurrent;
using GoodTransfer.ML.Service.Tests.Support;
using GoodTransfer.ML.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Service.Tests;

/// <summary>The featurizer service of the library: batching, equality with Transform, the queue bound, cancellation and shutdown.</summary>
[Collection(SharedServiceFixture.Name)]
public sealed class FeaturizerServiceTests(ServiceFixture fixture)
{
    /// <summary>Long enough that a batch never runs before the test has queued what it means to queue (with <c>RunAtOnceWhenIdle = false</c>).</summary>
    private static readonly TimeSpan Forever = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Concurrent_requests_run_as_full_batches_and_give_Transforms_features_bit_for_bit()
    {
        var expected = FeatureFixtures.Column(fixture.Featurizer.Transform(FeatureFixtures.Paths(fixture.MLContext, ServiceFixture.Photos)), "Features");
        var sizes = new ConcurrentQueue<int>();
        await using var service = FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 4, MaxBatchDelay = Forever, RunAtOnceWhenIdle = false });
        service.BatchRan += sizes.Enqueue;

        // 8 requests, 4 images each way in turn (bytes, a file, an MLImage): two full batches, not waiting for the delay.
        var requests = Enumerable.Range(0, 8).Select(i =>
        {
            var photo = ServiceFixture.Photos[i % ServiceFixture.Photos.Count];
            return (i % 3) switch
            {
                0 => service.FeaturizeAsync(File.ReadAllBytes(photo)),
                1 => service.FeaturizeFileAsync(photo),
                _ => FromImage(service, photo),
            };
        }).ToList();
        var features = await Task.WhenAll(requests).WaitAsync(Bound);

        Assert.Equal([4, 4], sizes);
        Assert.Equal(2, service.BatchesRun);
        Assert.Equal(8, service.ImagesRun);
        FeatureFixtures.AssertSameBits([.. Enumerable.Range(0, 8).Select(i => expected[i % expected.Count])], features);
    }

    [Fact]
    public async Task Batches_that_run_side_by_side_on_one_core_each_give_Transforms_features_bit_for_bit()
    {
        Assert.True(Environment.ProcessorCount >= 2, "this test needs 2 cores: the service runs batches side by side only with a worker per core");
        var expected = FeatureFixtures.Column(fixture.Featurizer.Transform(FeatureFixtures.Paths(fixture.MLContext, ServiceFixture.Photos)), "Features");
        await using var service = FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 2, MaxBatchDelay = Forever, RunAtOnceWhenIdle = false });

        // The first batch's worker is held after its run until another batch has run: that one was taken while the first
        // was still running, so it ran beside it, on its own core.
        using var secondRan = new ManualResetEventSlim();
        var ran = 0;
        service.BatchRan += _ =>
        {
            if (Interlocked.Increment(ref ran) == 1)
            {
                Assert.True(secondRan.Wait(Bound), "no second batch ran while the first worker was busy");
            }
            else
            {
                secondRan.Set();
            }
        };
        var photos = Enumerable.Range(0, 6).Select(i => ServiceFixture.Photos[i % ServiceFixture.Photos.Count]).ToList();
        var features = await Task.WhenAll(photos.Select(p => service.FeaturizeFileAsync(p))).WaitAsync(Bound);

        Assert.Equal(3, service.BatchesRun);
        Assert.InRange(service.BatchesRunOnOneCore, 1, 3);
        FeatureFixtures.AssertSameBits([.. Enumerable.Range(0, 6).Select(i => expected[i % expected.Count])], features);
    }

    [Fact]
    public async Task A_lone_request_runs_after_the_batch_delay_in_a_batch_of_one_when_it_may_not_run_at_once()
    {
        var sizes = new ConcurrentQueue<int>();
        await using var service = FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 8, MaxBatchDelay = TimeSpan.FromMilliseconds(20), RunAtOnceWhenIdle = false });
        service.BatchRan += sizes.Enqueue;

        var features = await service.FeaturizeFileAsync(ServiceFixture.Photos[0]).WaitAsync(Bound);

        Assert.Equal(service.FeatureSize, features.Length);
        Assert.Equal([1], sizes);
        Assert.Equal(0, service.BatchesRunOnOneCore);
        Assert.Equal(TimeSpan.FromMilliseconds(5), new FeaturizerServiceOptions().MaxBatchDelay);
    }

    [Fact]
    public async Task A_lone_callers_requests_run_at_once_after_the_first_without_waiting_for_the_delay()
    {
        async Task<long[]> AtOnce(bool runAtOnceWhenIdle)
        {
            await using var service = FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 8, MaxBatchDelay = TimeSpan.FromMilliseconds(50), RunAtOnceWhenIdle = runAtOnceWhenIdle });
            var counts = new List<long>();
            for (var i = 0; i < 3; i++)
            {
                // One request after another, each once the one before has been answered and its batch has ended.
                Assert.Equal(service.FeatureSize, (await service.FeaturizeFileAsync(ServiceFixture.Photos[i]).WaitAsync(Bound)).Length);
                await WaitUntilNoBatchRuns(service);
                counts.Add(service.BatchesRunAtOnce);
            }

            Assert.Equal(3, service.BatchesRun);
            return [.. counts];
        }

        // The first request has no request before it to say the caller is alone: it waits for the delay. The next two do not.
        var on = await AtOnce(runAtOnceWhenIdle: true);
        var off = await AtOnce(runAtOnceWhenIdle: false);

        Assert.Equal([0L, 1, 2], on);
        Assert.Equal([0L, 0, 0], off);
        Assert.True(new FeaturizerServiceOptions().RunAtOnceWhenIdle);
    }

    [Fact]
    public async Task A_request_that_follows_a_batch_of_several_waits_for_company_though_the_service_is_empty()
    {
        var sizes = new ConcurrentQueue<int>();
        await using var service = FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 2, MaxBatchDelay = Forever });
        service.BatchRan += sizes.Enqueue;
        await Task.WhenAll(service.FeaturizeFileAsync(ServiceFixture.Photos[0]), service.FeaturizeFileAsync(ServiceFixture.Photos[1])).WaitAsync(Bound);
        await WaitUntilNoBatchRuns(service);

        // It finds nothing queued or running, but the request before it did not: a burst's first, not a lone caller's.
        var third = service.FeaturizeFileAsync(ServiceFixture.Photos[2]);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(third.IsCompleted);
        Assert.Equal(1, service.QueueLength);
        await Task.WhenAll(third, service.FeaturizeFileAsync(ServiceFixture.Photos[3])).WaitAsync(Bound);

        Assert.Equal([2, 2], sizes);
        Assert.Equal(0, service.BatchesRunAtOnce);
    }

    [Fact]
    public async Task A_request_that_comes_while_a_batch_runs_waits_for_company_and_runs_beside_it()
    {
        Assert.True(Environment.ProcessorCount >= 2, "this test needs 2 cores: the service runs batches side by side only with a worker per core");
        var sizes = new ConcurrentQueue<int>();
        await using var service = FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 2, MaxBatchDelay = Forever });
        using var firstRan = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        service.BatchRan += size =>
        {
            sizes.Enqueue(size);
            if (sizes.Count == 1)
            {
                // The first batch's worker stays busy until the test lets it go.
                firstRan.Set();
                Assert.True(release.Wait(Bound), "the test did not release the first batch's worker");
            }
        };

        var first = Task.WhenAll(service.FeaturizeFileAsync(ServiceFixture.Photos[0]), service.FeaturizeFileAsync(ServiceFixture.Photos[1]));
        Assert.True(firstRan.Wait(Bound), "the first batch did not run");
        try
        {
            var third = service.FeaturizeFileAsync(ServiceFixture.Photos[2]);

            // The idle worker had time to take it; it must not, with a batch running and the batch not full.
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            Assert.Equal(1, service.QueueLength);
            Assert.False(third.IsCompleted);
            await Task.WhenAll(third, service.FeaturizeFileAsync(ServiceFixture.Photos[3])).WaitAsync(Bound);
        }
        finally
        {
            release.Set();
        }

        await first.WaitAsync(Bound);
        Assert.Equal([2, 2], sizes);
        Assert.Equal(1, service.BatchesRunOnOneCore);
        Assert.Equal(0, service.BatchesRunAtOnce);
    }

    [Fact]
    public async Task A_request_beyond_the_queue_bound_is_refused_at_once_and_those_queued_still_run()
    {
        await using var service = FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 8, MaxBatchDelay = Forever, RunAtOnceWhenIdle = false, MaxQueueLength = 3 });
        var queued = Enumerable.Range(0, 3).Select(_ => service.FeaturizeFileAsync(ServiceFixture.Photos[0])).ToList();
        Assert.Equal(3, service.QueueLength);

        var refused = await Assert.ThrowsAsync<ServiceOverloadedException>(() => service.FeaturizeFileAsync(ServiceFixture.Photos[1]));

        Assert.Equal(3, refused.MaxQueueLength);
        Assert.Contains("MaxQueueLength = 3", refused.Message, StringComparison.Ordinal);
        Assert.Contains(service.Name, refused.Message, StringComparison.Ordinal);
        Assert.All(queued, task => Assert.False(task.IsCompleted));

        // Stopping runs what is queued without waiting for the batch to fill.
        await service.StopAsync().WaitAsync(Bound);
        Assert.All(await Task.WhenAll(queued), f => Assert.Equal(service.FeatureSize, f.Length));
        Assert.Equal(1, service.BatchesRun);
    }

    [Fact]
    public async Task A_request_cancelled_while_it_waits_leaves_the_queue_and_is_never_run()
    {
        var sizes = new ConcurrentQueue<int>();
        await using var service = FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 4, MaxBatchDelay = Forever, RunAtOnceWhenIdle = false });
        service.BatchRan += sizes.Enqueue;
        using var cancel = new CancellationTokenSource();
        var first = service.FeaturizeFileAsync(ServiceFixture.Photos[0]);
        var cancelled = service.FeaturizeFileAsync(ServiceFixture.Photos[1], cancel.Token);
        var third = service.FeaturizeFileAsync(ServiceFixture.Photos[2]);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Bound));
        Assert.Equal(2, service.QueueLength);
        Assert.Equal(0, service.BatchesRun);

        // Two more fill the batch of 4: the cancelled request is not among them.
        var rest = new[] { service.FeaturizeFileAsync(ServiceFixture.Photos[3]), service.FeaturizeFileAsync(ServiceFixture.Photos[4]) };
        await Task.WhenAll([first, third, .. rest]).WaitAsync(Bound);
        Assert.Equal([4], sizes);
        Assert.Equal(4, service.ImagesRun);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => service.FeaturizeFileAsync(ServiceFixture.Photos[0], cancel.Token));
    }

    [Fact]
    public async Task Stopping_lets_requests_accepted_finish_and_refuses_new_ones_with_a_typed_error()
    {
        var service = FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 8, MaxBatchDelay = Forever, RunAtOnceWhenIdle = false });
        var accepted = Enumerable.Range(0, 3).Select(i => service.FeaturizeFileAsync(ServiceFixture.Photos[i])).ToList();

        var stopping = service.StopAsync();
        var refused = await Assert.ThrowsAsync<ServiceStoppedException>(() => service.FeaturizeFileAsync(ServiceFixture.Photos[0]));
        await stopping.WaitAsync(Bound);
        await service.DisposeAsync();

        Assert.All(await Task.WhenAll(accepted), f => Assert.Equal(service.FeatureSize, f.Length));
        Assert.Equal(3, service.ImagesRun);
        Assert.Contains(fixture.Featurizer.BackboneName, refused.ObjectName, StringComparison.Ordinal);
        Assert.Contains("takes no new requests", refused.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ServiceStoppedException>(() => service.FeaturizeFileAsync(ServiceFixture.Photos[0]));

        // The service did not own the featurizer: it still works.
        Assert.Single(FeatureFixtures.Column(fixture.Featurizer.Transform(FeatureFixtures.Paths(fixture.MLContext, [ServiceFixture.Photos[0]])), "Features"));
    }

    [Fact]
    public async Task A_bad_image_fails_alone_with_the_reason_and_its_batch_runs_without_it()
    {
        var sizes = new ConcurrentQueue<int>();
        await using var service = FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 3, MaxBatchDelay = Forever, RunAtOnceWhenIdle = false });
        service.BatchRan += sizes.Enqueue;
        var good = service.FeaturizeFileAsync(ServiceFixture.Photos[0]);
        var garbage = service.FeaturizeAsync("not an image at all"u8.ToArray());
        var missing = service.FeaturizeFileAsync(Path.Combine(fixture.Folder, "missing.jpg"));

        var error = await Assert.ThrowsAsync<InvalidImageException>(() => garbage.WaitAsync(Bound));
        await Assert.ThrowsAsync<FileNotFoundException>(() => missing.WaitAsync(Bound));
        await good.WaitAsync(Bound);

        Assert.Contains("the request's image (19 bytes)", error.Message, StringComparison.Ordinal);
        Assert.Equal([1], sizes);
    }

    [Fact]
    public async Task A_saved_classifier_zip_gives_the_fitted_featurizers_features_and_the_loaded_models_predictions()
    {
        var images = ServiceFixture.HeldOut;
        var expectedFeatures = FeatureFixtures.Column(fixture.Featurizer.Transform(FeatureFixtures.Paths(fixture.MLContext, images.Select(i => i.Path))), "Features");
        var mlContext = new MLContext(seed: 1);
        var loaded = mlContext.Model.Load(fixture.ClassifierZip, out _);
        List<Prediction> expected;
        try
        {
            using var engine = mlContext.Model.CreatePredictionEngine<LabelledImage, Prediction>(loaded);
            expected = [.. images.Select(i => engine.Predict(new LabelledImage { Path = i.Path }))];
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }

        await using var service = FeaturizerService.Load(fixture.ClassifierZip, new FeaturizerServiceOptions { BatchSize = images.Count, MaxBatchDelay = Forever, RunAtOnceWhenIdle = false });
        var predictions = await Task.WhenAll(images.Select(i => service.PredictAsync(File.ReadAllBytes(i.Path)))).WaitAsync(Bound);

        Assert.True(service.CanPredict);
        Assert.Equal(ServiceFixture.Classes, service.ClassNames);
        Assert.Equal(1, service.BatchesRun);
        FeatureFixtures.AssertSameBits(expectedFeatures, [.. predictions.Select(p => p.Features.ToArray())]);
        Assert.Equal(expected.Select(p => p.PredictedLabel), predictions.Select(p => p.PredictedLabel));
        FeatureFixtures.AssertSameBits([.. expected.Select(p => p.Score)], [.. predictions.Select(p => p.Scores.ToArray())]);
    }

    [Fact]
    public async Task A_zip_of_a_featurizer_alone_featurizes_and_says_why_it_cannot_predict()
    {
        using var zip = new TemporaryFile("featurizer.zip");
        var paths = FeatureFixtures.Paths(fixture.MLContext, ServiceFixture.Photos);
        fixture.MLContext.Model.Save(fixture.Featurizer, paths.Schema, zip.Path);
        var expected = FeatureFixtures.Column(fixture.Featurizer.Transform(paths), "Features");

        await using var service = FeaturizerService.Load(zip.Path);
        var features = await Task.WhenAll(ServiceFixture.Photos.Select(p => service.FeaturizeFileAsync(p))).WaitAsync(Bound);

        FeatureFixtures.AssertSameBits(expected, features);
        Assert.False(service.CanPredict);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => service.PredictFileAsync(ServiceFixture.Photos[0]));
        Assert.Contains("holds nothing after the featurizer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zip_without_a_featurizer_or_no_file_is_refused_naming_it()
    {
        using var zip = new TemporaryFile("other.zip");
        var data = fixture.MLContext.Data.LoadFromEnumerable(new[] { new LabelledImage { Path = "a", Label = "b" } });
        fixture.MLContext.Model.Save(fixture.MLContext.Transforms.Conversion.MapValueToKey("Label").Fit(data), data.Schema, zip.Path);

        var noFeaturizer = Assert.Throws<InvalidDataException>(() => FeaturizerService.Load(zip.Path));
        var noFile = Assert.Throws<FileNotFoundException>(() => FeaturizerService.Load(zip.Path + ".missing"));

        Assert.Contains(zip.Path, noFeaturizer.Message, StringComparison.Ordinal);
        Assert.Contains("no GoodTransferFeaturize step", noFeaturizer.Message, StringComparison.Ordinal);
        Assert.Contains("other.zip.missing", noFile.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_out_of_range_are_refused_naming_the_option()
    {
        Assert.Equal("MaxQueueLength", Assert.ThrowsAny<ArgumentException>(() => FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { MaxQueueLength = 0 })).ParamName);
        Assert.Equal("BatchSize", Assert.ThrowsAny<ArgumentException>(() => FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { BatchSize = 0 })).ParamName);
        Assert.Equal("MaxBatchDelay", Assert.ThrowsAny<ArgumentException>(() => FeaturizerService.Create(fixture.Featurizer, new FeaturizerServiceOptions { MaxBatchDelay = TimeSpan.FromMilliseconds(-1) })).ParamName);
    }

    [Fact]
    public async Task AddGoodTransfer_registers_one_service_that_the_container_stops_and_disposes()
    {
        var services = new ServiceCollection().AddGoodTransfer(fixture.ClassifierZip, options => options.BatchSize = 2);
        FeaturizerService service;
        await using (var provider = services.BuildServiceProvider())
        {
            service = provider.GetRequiredService<FeaturizerService>();
            Assert.Same(service, provider.GetRequiredService<FeaturizerService>());
            Assert.Equal(2, service.BatchSize);
            var prediction = await service.PredictFileAsync(ServiceFixture.HeldOut[0].Path).WaitAsync(Bound);
            Assert.Contains(prediction.PredictedLabel, ServiceFixture.Classes);
        }

        await Assert.ThrowsAsync<ServiceStoppedException>(() => service.FeaturizeFileAsync(ServiceFixture.Photos[0]));
    }

    private static async Task WaitUntilNoBatchRuns(FeaturizerService service)
    {
        // A batch's requests are answered just before its worker counts it ended.
        var deadline = DateTime.UtcNow + Bound;
        while (service.BatchesRunning > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "a batch was still running long after its requests were answered");
            await Task.Delay(5);
        }
    }

    private static async Task<float[]> FromImage(FeaturizerService service, string path)
    {
        using var image = MLImage.CreateFromFile(path);
        return await service.FeaturizeAsync(image);
    }

    public sealed class Prediction
    {
        public string PredictedLabel { get; set; } = string.Empty;

        public float[] Score { get; set; } = [];
    }
}
