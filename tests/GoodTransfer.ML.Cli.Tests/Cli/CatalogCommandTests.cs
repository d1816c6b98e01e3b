using GoodTransfer.ML.Tests.Support;
using Microsoft.ML.OnnxRuntime;

namespace GoodTransfer.ML.Tests.Cli;

/// <summary><c>list</c>, <c>download</c> and <c>export</c> against a 127.0.0.1 mirror serving a generated checkpoint under the paper's file name.</summary>
public sealed class CatalogCommandTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    /// <summary>A real MoCo v2-layout checkpoint (750 KB), served as moco_v2_imagenet.pth.</summary>
    private static readonly byte[] Checkpoint = File.ReadAllBytes(FixtureManifest.PathOf("checkpoints/bottleneck_moco_v2.pth"));

    private readonly CheckpointServer server = new();
    private readonly TemporaryFile work = new("unused");

    private Dictionary<string, string> Mirror => new() { ["GOODTRANSFER_MIRROR"] = server.BaseUrl };

    [Fact]
    public void Download_fetches_once_into_the_cache_and_list_then_shows_it_cached()
    {
        server.Add("moco_v2_imagenet.pth", Checkpoint);
        var cached = Path.Combine(CliProcess.Cache(work), "checkpoints", "moco_v2_imagenet.pth");

        var download = CliProcess.Run(["download", "mocov2imagenet"], work, Mirror, output);
        var again = CliProcess.Run(["download", "MocoV2ImageNet"], work, Mirror, output);
        var list = CliProcess.Run(["list"], work, Mirror, output);

        Assert.Equal(0, download.ExitCode);
        Assert.Equal(Checkpoint, File.ReadAllBytes(cached));
        Assert.Contains($"MocoV2ImageNet: downloaded, {cached}", download.Output, StringComparison.Ordinal);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains($"MocoV2ImageNet: already cached, {cached}", again.Output, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestsFor("moco_v2_imagenet.pth"));

        Assert.Equal(0, list.ExitCode);
        var rows = list.Output.Split('\n').Where(l => l.StartsWith("│ ", StringComparison.Ordinal) && !l.StartsWith("│ name ", StringComparison.Ordinal)).ToList();
        Assert.Equal(Backbone.All.Count, rows.Count);
        var moco = Assert.Single(rows, r => r.StartsWith("│ MocoV2ImageNet ", StringComparison.Ordinal));
        Assert.Matches(@"│ MocoV2ImageNet +│ moco_v2_imagenet\.pth +│ MoCo v2 +│ ImageNet +│ flip\+crop\+color\+gray\+blur +│ 1, 2 +│ yes +│", moco);
        Assert.All(rows.Where(r => r != moco), r => Assert.EndsWith("│ no     │", r.TrimEnd(), StringComparison.Ordinal));
        Assert.Contains($"1 of 24 checkpoints cached in {Path.GetDirectoryName(cached)}", list.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_the_mirror_does_not_have_exits_3_naming_the_url()
    {
        var run = CliProcess.Run(["download", "MocoV2Places"], work, Mirror, output);

        Assert.Equal(3, run.ExitCode);
        var error = run.SingleError();
        var file = Backbone.MocoV2Places.FileName;
        Assert.Equal(
            $"error: Cannot download checkpoint from {server.BaseUrl}{file}: the server answered 404 (Not Found); not retried. (GOODTRANSFER_MIRROR is {server.BaseUrl}: check that it serves {file})",
            error);
        Assert.False(File.Exists(Path.Combine(CliProcess.Cache(work), "checkpoints", file)));
    }

    [Fact]
    public void Offline_without_the_checkpoint_exits_3_naming_the_file()
    {
        var run = CliProcess.Run(["featurize", FixtureManifest.PathOf("images"), "--backbone", "MocoV2ImageNet", "--out", "f.parquet", "--offline"], work, Mirror, output);

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("moco_v2_imagenet.pth", run.SingleError(), StringComparison.Ordinal);
        Assert.Equal(0, server.RequestsFor("moco_v2_imagenet.pth"));
    }

    [Fact]
    public void Export_writes_an_onnx_featurizer_of_the_layer_asked_for()
    {
        server.Add("moco_v2_imagenet.pth", Checkpoint);
        var onnx = Path.Combine(work.Folder, "moco.onnx");

        var run = CliProcess.Run(["export", "MocoV2ImageNet", onnx, "--layer", "Layer3"], work, Mirror, output);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"Wrote {onnx}: MocoV2ImageNet (", run.Output, StringComparison.Ordinal);
        using var session = new InferenceSession(onnx);
        Assert.Equal(["image"], session.InputMetadata.Keys);
        var features = Assert.Single(session.OutputMetadata);
        Assert.Equal("features", features.Key);
        // The fixture's third stage has 64 channels (its fourth, 128).
        Assert.Equal(64, features.Value.Dimensions[1]);
        Assert.Contains(", Layer3, Float32, 64 features per image", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_of_a_checkpoint_file_that_does_not_exist_exits_3()
    {
        var run = CliProcess.Run(["export", "missing.pth", "out.onnx"], work, Mirror, output);

        Assert.Equal(3, run.ExitCode);
        Assert.Equal($"error: checkpoint file '{Path.Combine(work.Folder, "missing.pth")}' does not exist", run.SingleError());
    }

    public void Dispose()
    {
        server.Dispose();
        work.Dispose();
    }
}
