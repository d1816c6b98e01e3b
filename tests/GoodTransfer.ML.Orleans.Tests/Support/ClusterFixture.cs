using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using SkiaSharp;

namespace GoodTransfer.ML.Orleans.Tests.Support;

/// <summary>
/// What the cluster tests share: redis-server, Fashion-MNIST images written as PNG files, the small ResNet fixture
/// (GoodTransfer.ML.Tests' bottleneck_moco_v2.pth) converted once into a cache that the silos reuse, and the
/// features of every image from a single-process featurization, the reference the cluster's parts must equal bit for bit.
/// </summary>
public sealed class ClusterFixture : IDisposable
{
    /// <summary>Distinct Fashion-MNIST images.</summary>
    public const int DistinctImages = 480;

    /// <summary>
    /// How long a cluster job should last at least, so that a silo started mid-run (seconds to start and join) joins while
    /// batches are left: the job's images are the distinct ones as many times as this machine needs (3 to 12), under
    /// other names (symbolic links), while the single-process reference featurizes each image once.
    /// </summary>
    private static readonly TimeSpan JobLength = TimeSpan.FromSeconds(20);

    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("goodtransfer-orleans-");

    public ClusterFixture()
    {
        try
        {
            Redis = new RedisServer();
            CacheFolder = Directory.CreateDirectory(Path.Combine(folder.FullName, "cache")).FullName;
            var images = Directory.CreateDirectory(Path.Combine(folder.FullName, "images")).FullName;
            var (pixels, labels) = FashionMnist.Load("t10k", DistinctImages);
            List<ImageEntry> distinct = [.. pixels.Select((gray, i) => new ImageEntry(WritePng(Path.Combine(images, $"test-{i:D5}.png"), gray), labels[i].ToString(System.Globalization.CultureInfo.InvariantCulture)))];
            var (distinctReference, seconds) = SingleProcessFeatures(distinct);

            // The job's silos share the machine's cores, one ONNX Runtime thread each, as the reference runs on one:
            // a job of n copies takes about n x seconds / cores.
            var copies = Math.Clamp((int)Math.Ceiling(JobLength.TotalSeconds * Environment.ProcessorCount / seconds), 3, 12);
            Images = [.. Enumerable.Range(0, copies).SelectMany(copy => distinct.Select(image => copy == 0 ? image : image with { Path = Link(image.Path, copy) }))];
            Reference = [.. Enumerable.Range(0, Images.Count).Select(i => distinctReference[i % DistinctImages])];
            ImageList = Path.Combine(folder.FullName, "images.tsv");
            File.WriteAllLines(ImageList, Images.Select(image => $"{image.Path}\t{image.Label}"));

        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public RedisServer Redis { get; } = null!;

    public static string Checkpoint => FixtureManifest.PathOf("checkpoints/bottleneck_moco_v2.pth");

    public IReadOnlyList<ImageEntry> Images { get; } = [];

    public string ImageList { get; } = string.Empty;

    public string CacheFolder { get; } = string.Empty;

    public IReadOnlyList<float[]> Reference { get; } = [];

    public string NewOutputFolder(string name) => Path.Combine(folder.FullName, name + "-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        Redis?.Dispose();
        folder.Delete(recursive: true);
    }

    private static string WritePng(string path, byte[] gray)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(FashionMnist.Side, FashionMnist.Side, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(gray, 0, bitmap.GetPixels(), gray.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    // What a silo runs (the same options as ClusterCheck's job: one ONNX Runtime thread, offline), in one process over all images.
    private static string Link(string target, int copy)
    {
        var link = Path.ChangeExtension(target, null) + $"-copy{copy}.png";
        File.CreateSymbolicLink(link, target);
        return link;
    }

    private (List<float[]> Features, double Seconds) SingleProcessFeatures(IEnumerable<ImageEntry> images)
    {
        var mlContext = new MLContext();
        var options = new GoodTransferOptions { CpuThreads = 1, Offline = true, CacheDirectory = CacheFolder };
        var data = mlContext.Data.LoadFromEnumerable(images.Select(image => new PathRow { Path = image.Path }));
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(Backbone.FromFile(Checkpoint), "Features", "Path", options).Fit(data);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var features = FeatureFixtures.Column(featurizer.Transform(data), "Features");
        return (features, clock.Elapsed.TotalSeconds);
    }

    private sealed class PathRow
    {
        public string Path { get; set; } = string.Empty;
    }
}
