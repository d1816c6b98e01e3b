using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Samples;

/// <summary>Both samples refuse bad arguments before any work, with one line naming what is wrong, and exit 2.</summary>
public sealed class SampleArgumentTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [InlineData("ImageClassifier", "--backbone", "MocoV3ImageNet")]
    [InlineData("CompareBackbones", "--backbones", "MocoV2ImageNet,MocoV3ImageNet")]
    public void An_unknown_backbone_exits_2_and_lists_the_valid_names(string sample, string option, string names)
    {
        using var work = new TemporaryFile("unused");

        var run = SampleProcess.Run(sample, [option, names], work, output: output);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("error: unknown backbone 'MocoV3ImageNet'; the valid names are:", run.SingleError());
        Assert.All(Backbone.All, b => Assert.Contains($"  {b.Name} ", run.Error));
        Assert.Empty(run.Output);
    }

    [Theory]
    [InlineData("ImageClassifier")]
    [InlineData("CompareBackbones")]
    public void A_missing_data_folder_exits_2_naming_it(string sample)
    {
        using var work = new TemporaryFile("unused");
        var missing = Path.Combine(work.Folder, "no such photos");

        var run = SampleProcess.Run(sample, ["--data", missing], work, output: output);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: data folder '{missing}' does not exist", run.SingleError());
    }

    [Theory]
    [InlineData("ImageClassifier", new[] { "--folds" }, "error: Unrecognized command or argument '--folds'.")]
    [InlineData("CompareBackbones", new[] { "--folds" }, "error: Required argument missing for option: '--folds'.")]
    [InlineData("CompareBackbones", new[] { "photos" }, "error: Unrecognized command or argument 'photos'.")]
    [InlineData("CompareBackbones", new[] { "--folds", "1" }, "error: option '--folds' takes a whole number from 2 to 50, not '1'")]
    [InlineData("CompareBackbones", new[] { "--folds", "many" }, "error: option '--folds' takes a whole number from 2 to 50, not 'many'")]
    [InlineData("ImageClassifier", new[] { "--test-fraction", "1.5" }, "error: option '--test-fraction' takes a number between 0 and 1, not '1.5'")]
    [InlineData("ImageClassifier", new[] { "--backbone", "MocoV2ImageNet", "--checkpoint", "a.pth" }, "error: give --backbone or --checkpoint, not both")]
    [InlineData("ImageClassifier", new[] { "--model", "a.zip", "--model", "b.zip" }, "error: Option '--model' expects a single argument but 2 were provided.")]
    public void A_bad_command_line_exits_2_naming_the_argument_before_any_work(string sample, string[] arguments, string error)
    {
        using var work = new TemporaryFile("unused");

        var run = SampleProcess.Run(sample, arguments, work, SampleProcess.Offline, output);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(error, run.SingleError());
        Assert.Equal("Run with --help to see the options.", run.ErrorLines[^1]);
        Assert.Empty(run.Output);
        Assert.False(Directory.Exists(SampleProcess.Cache(work)), "a sample that refused its arguments made its cache");
    }

    public static TheoryData<string, string[]> Options => new()
    {
        { "ImageClassifier", ["--data <DIR>", "--backbone <NAME>", "--checkpoint <FILE>", "--model <FILE>", "--test-fraction <F>", "--help"] },
        { "CompareBackbones", ["--data <DIR>", "--backbones <A,B,C>", "--checkpoint-dir <DIR>", "--folds <K>", "--plot <FILE>", "--help"] },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public void Help_lists_every_option_the_environment_and_the_exit_codes_and_exits_0(string sample, string[] options)
    {
        using var work = new TemporaryFile("unused");

        var run = SampleProcess.Run(sample, ["--help"], work, output: output);

        Assert.Equal(0, run.ExitCode);
        Assert.Empty(run.Error);
        var optionLines = run.OutputLines.SkipWhile(l => l != "Options:").Skip(1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal)).ToList();
        Assert.All(options, option => Assert.Single(optionLines, l => l.Contains(option, StringComparison.Ordinal)));
        Assert.Contains("GOODTRANSFER_MIRROR", run.Output);
        Assert.Contains("Exit codes: 0 done, 2 bad arguments or data, 3 a checkpoint could not be downloaded or read.", run.Output);
    }
}
