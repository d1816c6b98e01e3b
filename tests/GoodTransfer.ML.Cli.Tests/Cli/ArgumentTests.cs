using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Cli;

/// <summary>Bad command lines exit 2 with one line naming the argument, as the samples do.</summary>
public sealed class ArgumentTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [InlineData(new[] { "featurize", "images", "--backbone", "MocoV2ImageNet" }, "error: Option '--out' is required.")]
    [InlineData(new[] { "featurize", "images", "--out", "o", "--backbone", "MocoV2ImageNet", "--shard", "3/3" }, "error: --shard: Shard '3/3': I must be from 0 to N - 1 and N at least 1 (parts are counted from 0).")]
    [InlineData(new[] { "featurize", "images", "--out", "o" }, "error: Give exactly one of --backbone NAME and --checkpoint FILE.")]
    [InlineData(new[] { "featurize", "images", "--out", "o", "--backbone", "MocoV2ImageNet", "--batch-size", "0" }, "error: --batch-size must be from 1 to 1024.")]
    [InlineData(new[] { "download" }, "error: Name the backbones to download, or give --all.")]
    [InlineData(new[] { "compare", "images", "--backbones", "MocoV2ImageNet", "--folds", "1" }, "error: --folds must be from 2 to 50.")]
    [InlineData(new[] { "featurize", "images", "--out", "o", "--backbone", "MocoV2ImageNet", "--precision", "Float16" }, "error: Argument 'Float16' not recognized. Must be one of: 'Float32' 'Int8'")]
    [InlineData(new[] { "featurise" }, "error: Unrecognized command or argument 'featurise'.")]
    [InlineData(new[] { "featurize", "images", "--out", "o", "--backbone", "MocoV2ImageNet", "--cluster", "redis=127.0.0.1:9", "--shard", "0/2" }, "error: --cluster cuts its own batches into Parquet parts: it takes neither --shard nor --format Csv.")]
    [InlineData(new[] { "featurize", "images", "--out", "o", "--backbone", "MocoV2ImageNet", "--cluster", "redis=127.0.0.1:9", "--images-per-batch", "0" }, "error: --images-per-batch must be at least 1.")]
    [InlineData(new[] { "silo" }, "error: Option '--redis' is required.")]
    [InlineData(new[] { "export", "MocoV2ImageNet", "m.onnx", "--precision", "Float" }, "error: Argument 'Float' not recognized. Must be one of:")]
    [InlineData(new[] { "export", "MocoV2ImageNet", "m.onnx", "--precision", "int8" }, "error: --precision Int8 needs --calibration-images")]
    public void A_bad_command_line_exits_2_with_one_line_naming_the_argument(string[] arguments, string expected)
    {
        using var work = new TemporaryFile("unused");

        var run = CliProcess.Run(arguments, work, output: output);

        Assert.Equal(2, run.ExitCode);
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith(expected, StringComparison.Ordinal));
        // One "error:" line per problem, then where the usage is; no stack trace.
        Assert.All(lines[..^1], l => Assert.StartsWith("error: ", l, StringComparison.Ordinal));
        Assert.StartsWith("Run 'goodtransfer ", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_cluster_other_than_redis_exits_2_naming_the_form()
    {
        using var work = new TemporaryFile("unused");
        Directory.CreateDirectory(Path.Combine(work.Folder, "images"));

        var run = CliProcess.Run(["featurize", "images", "--out", "features", "--backbone", "MocoV2ImageNet", "--cluster", "zookeeper=host:2181"], work, output: output);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("error: --cluster 'zookeeper=host:2181': expected redis=HOST:PORT (the Redis server that holds the cluster's membership)", run.SingleError());
    }

    [Fact]
    public void An_unknown_backbone_exits_2_pointing_to_list()
    {
        using var work = new TemporaryFile("unused");
        Directory.CreateDirectory(Path.Combine(work.Folder, "images"));

        var run = CliProcess.Run(["featurize", "images", "--out", "o.parquet", "--backbone", "MocoV3"], work, output: output);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("error: unknown backbone 'MocoV3'; run 'goodtransfer list' for the 24 names", run.SingleError());
        Assert.Contains("MocoV2ImageNet", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_input_exits_2_naming_it()
    {
        using var work = new TemporaryFile("unused");

        var run = CliProcess.Run(["featurize", "nowhere", "--out", "o.parquet", "--backbone", "MocoV2ImageNet"], work, output: output);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: No folder or list of images at '{Path.Combine(work.Folder, "nowhere")}'.", run.SingleError());
    }

    [Fact]
    public void Tab_completion_offers_the_backbone_names()
    {
        using var work = new TemporaryFile("unused");
        const string line = "featurize photos --backbone SupervisedImageNetF";

        // What dotnet-suggest asks a System.CommandLine program when the user presses Tab at the end of the line.
        var run = CliProcess.Run([$"[suggest:{line.Length}]", line], work, output: output);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(
            ["SupervisedImageNetFlip", "SupervisedImageNetFlipCrop", "SupervisedImageNetFlipCropColor", "SupervisedImageNetFlipCropColorGray"],
            run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void Help_lists_the_commands_and_the_exit_codes()
    {
        using var work = new TemporaryFile("unused");

        var run = CliProcess.Run(["--help"], work, output: output);

        Assert.Equal(0, run.ExitCode);
        foreach (var command in (string[])["list", "download <NAME>", "export <NAME|FILE.pth> <OUT>", "featurize <INPUT>", "compare <INPUT>"])
        {
            Assert.Contains($"  {command} ", run.Output, StringComparison.Ordinal);
        }

        Assert.Contains("Exit codes: 0 done, 2 bad arguments or data, 3 a checkpoint could not be downloaded or read.", run.Output, StringComparison.Ordinal);
    }
}
