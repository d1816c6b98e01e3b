using System.Net;
using System.Net.Sockets;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Cli;

/// <summary>
/// A machine without internet: the download fails for want of a network (not an HTTP status), and the tool
/// says so and how to run without the paper's server. A class of its own, so that its retries (about 10 s of
/// backoff) overlap other tests.
/// </summary>
public sealed class NoNetworkTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void An_unreachable_server_exits_3_saying_so_and_how_to_run_without_it()
    {
        using var work = new TemporaryFile("unused");
        // A port that refuses connections: bound by this test, then closed.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var mirror = $"http://127.0.0.1:{port}/good_transfer/";

        var run = CliProcess.Run(["download", "MocoV2ImageNet"], work, new Dictionary<string, string> { ["GOODTRANSFER_MIRROR"] = mirror }, output);

        Assert.Equal(3, run.ExitCode);
        var error = run.SingleError();
        Assert.StartsWith($"error: the network is unreachable: cannot download moco_v2_imagenet.pth from {mirror}moco_v2_imagenet.pth (", error, StringComparison.Ordinal);
        Assert.EndsWith("No other model is used in its place.", error, StringComparison.Ordinal);
        Assert.Contains("--checkpoint moco_v2_imagenet.pth", run.Error, StringComparison.Ordinal);
        Assert.Contains("GOODTRANSFER_MIRROR=", run.Error, StringComparison.Ordinal);
        Assert.Contains("GOODTRANSFER_OFFLINE=1", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(CliProcess.Cache(work), "checkpoints", "moco_v2_imagenet.pth")));
    }
}
