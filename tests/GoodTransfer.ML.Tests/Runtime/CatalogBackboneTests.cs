using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>
/// The one-line use with a catalog backbone, end to end: the checkpoint comes from a mirror (a local
/// server serving a generated checkpoint under the real file name), once, into the cache; offline use
/// works from the cache and fails clearly without it.
/// </summary>
public sealed class CatalogBackboneTests
{
    [Fact]
    public void Catalog_backbone_downloads_once_from_the_mirror_then_works_offline()
    {
        using var server = new CheckpointServer();
        server.Add(Backbone.MocoV2ImageNet.FileName, File.ReadAllBytes(FixtureManifest.PathOf(FeatureFixtures.Manifest.Checkpoint)));
        using var cache = new TemporaryFile("unused");
        var mlContext = new MLContext(seed: 1);
        var images = FeatureFixtures.Manifest.Images.Where(i => i.MLImageExact).Take(2).ToList();
        var data = FeatureFixtures.Paths(mlContext, images.Select(i => i.FullPath));

        var online = new GoodTransferOptions { CacheDirectory = cache.Folder, MirrorUrl = server.BaseUrl };
        var first = mlContext.Transforms.LoadImages("Image", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet, options: online))
            .Fit(data);
        var offline = new GoodTransferOptions { CacheDirectory = cache.Folder, Offline = true, MirrorUrl = "http://127.0.0.1:9/nothing/" };
        var second = mlContext.Transforms.LoadImages("Image", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet, options: offline))
            .Fit(data);

        Assert.Equal(1, server.RequestsFor(Backbone.MocoV2ImageNet.FileName));
        Assert.True(File.Exists(Path.Combine(cache.Folder, "checkpoints", "moco_v2_imagenet.pth")));
        var expected = FeatureFixtures.Column(first.Transform(data), "Features");
        Assert.Equal(expected, FeatureFixtures.Column(second.Transform(data), "Features"));
        for (var i = 0; i < images.Count; i++)
        {
            Assert.True(Similarity.Cosine(expected[i], FixtureManifest.ReadFloats(images[i].Reference)) >= 0.999);
        }
    }

    [Fact]
    public void Offline_without_the_file_names_the_file_its_url_and_the_cache_path()
    {
        using var cache = new TemporaryFile("unused");
        var mlContext = new MLContext(seed: 1);
        var data = FeatureFixtures.Paths(mlContext, [FeatureFixtures.Manifest.Images[0].FullPath]);
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, Offline = true };

        var error = Assert.Throws<CheckpointNotCachedException>(() =>
            mlContext.Transforms.GoodTransferFeaturize(Backbone.SupervisedCoco, inputColumnName: "Path", options: options).Fit(data));

        Assert.Contains("supervised_coco.pth", error.Message, StringComparison.Ordinal);
        Assert.Contains(Backbone.PaperBaseUrl + "supervised_coco.pth", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(cache.Folder, "checkpoints", "supervised_coco.pth"), error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<IOException>(error);
    }

    [Fact]
    public void A_mirror_that_lacks_the_file_is_a_download_error_with_the_status_and_leaves_the_cache_empty()
    {
        using var server = new CheckpointServer();
        using var cache = new TemporaryFile("unused");
        var mlContext = new MLContext(seed: 1);
        var data = FeatureFixtures.Paths(mlContext, [FeatureFixtures.Manifest.Images[0].FullPath]);
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, MirrorUrl = server.BaseUrl };

        var error = Assert.Throws<CheckpointDownloadException>(() =>
            mlContext.Transforms.GoodTransferFeaturize(Backbone.ExemplarV1, inputColumnName: "Path", options: options).Fit(data));

        Assert.Equal(404, error.StatusCode);
        Assert.Contains(server.BaseUrl + "exemplar_v1.pth", error.Message, StringComparison.Ordinal);

        // Only the entry's lock file, which stays by design (see CacheLock).
        Assert.Equal(["locks/exemplar_v1.pth.lock"], Directory.EnumerateFiles(cache.Folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(cache.Folder, f)));
    }

    [Fact]
    public void A_second_Fit_makes_no_request_and_no_conversion_and_the_MLContext_log_says_what_happened()
    {
        using var server = new CheckpointServer();
        server.Add(Backbone.MocoV2ImageNet.FileName, AcquisitionFixture.Checkpoint);
        using var cache = new TemporaryFile("unused");
        var mlContext = new MLContext(seed: 1);
        var messages = new List<string>();
        mlContext.Log += (_, e) =>
        {
            if (e.Source == "GoodTransfer" && e.Kind is not Microsoft.ML.Runtime.ChannelMessageKind.Trace)
            {
                lock (messages)
                {
                    messages.Add(e.RawMessage);
                }
            }
        };
        var data = FeatureFixtures.Paths(mlContext, [FeatureFixtures.Manifest.Images[0].FullPath]);
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, MirrorUrl = server.BaseUrl };
        var estimator = mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet, inputColumnName: "Path", options: options);

        using (estimator.Fit(data))
        {
        }

        var onnx = Directory.GetFiles(Path.Combine(cache.Folder, "onnx"), "*.onnx").Order().ToArray();
        Assert.Equal(2, onnx.Length);
        Assert.Equal(onnx.Select(f => f + ".sha256"), Directory.GetFiles(Path.Combine(cache.Folder, "onnx"), "*.sha256").Order());
        var converted = onnx.Select(File.GetLastWriteTimeUtc).ToArray();
        var first = messages.ToList();
        messages.Clear();
        using (estimator.Fit(data))
        {
        }

        Assert.Equal(1, server.RequestsFor(Backbone.MocoV2ImageNet.FileName));
        Assert.Equal(converted, onnx.Select(File.GetLastWriteTimeUtc));
        var url = server.BaseUrl + "moco_v2_imagenet.pth";
        var checkpoint = Path.Combine(cache.Folder, "checkpoints", "moco_v2_imagenet.pth");
        Assert.Equal($"Downloading moco_v2_imagenet.pth (750177 bytes) from {url}.", first[0]);
        Assert.Matches($@"^Downloaded moco_v2_imagenet\.pth: 750177 bytes in [0-9.]+ s, SHA-256 {AcquisitionFixture.CheckpointSha256}\.$", first[1]);
        Assert.Equal($"Cached moco_v2_imagenet.pth at {checkpoint}.", first[2]);
        Assert.StartsWith("Converted MocoV2ImageNet to ONNX in ", first[3], StringComparison.Ordinal);
        var decoder = $"JPEGs are decoded by {TurboJpeg.Status}.";
        Assert.Equal(decoder, first[4]);
        Assert.Equal(5, first.Count);
        Assert.Equal(
            [$"Using the cached checkpoint {checkpoint} (SHA-256 {AcquisitionFixture.CheckpointSha256}).", $"Using the cached ONNX models {onnx[0]} and {Path.GetFileName(onnx[1])}.", decoder],
            messages);
    }
}
