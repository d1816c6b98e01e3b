using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace GoodTransfer.ML.Orleans.Tests;

/// <summary>
/// What crosses between processes, through Orleans' own serializer (a type without a codec compiles and fails on its
/// first call with CodecNotFoundException), and the job's checks that need no cluster.
/// </summary>
public sealed class ContractTests
{
    private static readonly Serializer Serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    [Fact]
    public void A_batch_with_its_featurizer_spec_round_trips_through_Orleans_serializer()
    {
        var spec = FeaturizerSpec.For(
            Backbone.FromFile(Support.ClusterFixture.Checkpoint, new ImagePreprocessing(232, 224, [0.5f, 0.4f, 0.3f], [0.2f, 0.25f, 0.3f])),
            new GoodTransferOptions { FeatureLayer = FeatureLayer.Layer3, CpuThreads = 2, BatchSize = 16, CacheDirectory = "/cache", MirrorUrl = "http://mirror/", Offline = true });
        var batch = new FeatureBatch(3, 10, [new ImageEntry("/a.png", "cat"), new ImageEntry("/b.png")], spec, "/out/part-3-of-10.parquet");

        var copy = Serializer.Deserialize<FeatureBatch>(Serializer.SerializeToArray(batch))!;

        Assert.Equal((batch.Index, batch.Count, batch.PartPath), (copy.Index, copy.Count, copy.PartPath));
        Assert.Equal(batch.Images, copy.Images);
        Assert.Equal(spec.Key, copy.Featurizer.Key);
        Assert.Equal(spec.ToBackbone().Preprocessing, copy.Featurizer.ToBackbone().Preprocessing);
        Assert.Equal(Path.GetFullPath(Support.ClusterFixture.Checkpoint), Path.GetFullPath(copy.Featurizer.ToBackbone().CheckpointPath!));
    }

    [Fact]
    public void A_batch_result_round_trips_through_Orleans_serializer()
    {
        var result = new BatchResult(7, "127.0.0.1:11111@1", 256, 12.5, AlreadyComplete: false, Error: "InvalidImageException: bad.png");
        Assert.Equal(result, Serializer.Deserialize<BatchResult>(Serializer.SerializeToArray(result)));
    }

    [Fact]
    public void A_catalog_backbone_travels_by_name()
    {
        var spec = FeaturizerSpec.For(Backbone.MocoV2ImageNet);
        Assert.Equal((nameof(Backbone.MocoV2ImageNet), null), (spec.BackboneName, spec.CheckpointPath));
        Assert.Same(Backbone.MocoV2ImageNet, spec.ToBackbone());
    }

    [Fact]
    public void Int8_without_calibration_images_is_refused_as_silos_fit_without_data()
    {
        var error = Assert.Throws<ArgumentException>(() => FeaturizerSpec.For(Backbone.MocoV2ImageNet, new GoodTransferOptions { Precision = Precision.Int8 }));
        Assert.Equal("options", error.ParamName);
        Assert.Contains("CalibrationImages", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Batches_are_cut_in_the_given_order_and_name_their_parts()
    {
        var images = Enumerable.Range(0, 10).Select(i => new ImageEntry($"/img/{i}.png")).ToList();
        var job = new FeaturizationJob(NoCluster(), FeaturizerSpec.For(Backbone.MocoV2ImageNet), images, "/out", new FeaturizationJobOptions { ImagesPerBatch = 4 });

        Assert.Equal(3, job.BatchCount);
        Assert.Equal(images, Enumerable.Range(0, 3).SelectMany(job.ImagesOf));
        Assert.Equal(["/img/8.png", "/img/9.png"], job.ImagesOf(2).Select(i => i.Path));
        Assert.Equal("/out/part-2-of-3.parquet", job.PartPath(2));
    }

    [Fact]
    public void Options_out_of_range_are_refused_by_name()
    {
        var images = new[] { new ImageEntry("/a.png") };
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new FeaturizationJob(NoCluster(), FeaturizerSpec.For(Backbone.MocoV2ImageNet), images, "/out", new FeaturizationJobOptions { AttemptTimeout = TimeSpan.Zero }));
        Assert.Equal("AttemptTimeout", error.ParamName);
        Assert.Throws<ArgumentException>(() => new FeaturizationJob(NoCluster(), FeaturizerSpec.For(Backbone.MocoV2ImageNet), [], "/out"));
    }

    [Fact]
    public void An_output_folder_with_another_jobs_parts_is_refused()
    {
        var folder = Directory.CreateTempSubdirectory("goodtransfer-manifest-").FullName;
        try
        {
            var spec = FeaturizerSpec.For(Backbone.MocoV2ImageNet);
            ImageEntry[] images = [new("/a.png"), new("/b.png")];
            JobManifest.Of(images, 1, 2, spec).WriteOrCheck(folder);
            JobManifest.Of(images, 1, 2, spec).WriteOrCheck(folder);

            var error = Assert.Throws<FeaturizationJobException>(() => JobManifest.Of([new("/a.png"), new("/c.png")], 1, 2, spec).WriteOrCheck(folder));
            Assert.Contains(folder, error.Message, StringComparison.Ordinal);
            Assert.Contains("another job", error.Message, StringComparison.Ordinal);
            Assert.Throws<FeaturizationJobException>(() => JobManifest.Of(images, 1, 2, FeaturizerSpec.For(Backbone.SupervisedImageNet)).WriteOrCheck(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // A client that is never called: the job's constructor only keeps it.
    private static IClusterClient NoCluster() => DispatchProxy.Create<IClusterClient, UnusedProxy>();

    public class UnusedProxy : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => throw new InvalidOperationException("no cluster in this test");
    }
}
