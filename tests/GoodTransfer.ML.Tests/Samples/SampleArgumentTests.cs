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
    [InlineData("ImageClassifier", "--folds", "error: unknown option '--folds'")]
    [InlineData("CompareBackbones", "--folds", "error: option '--folds' needs a value")]
    [InlineData("CompareBackbones", "photos", "error: unexpected argument 'photos' (every argument is an --option)")]
    public void A_bad_command_line_exits_2_naming_the_argument(string sample, string argument, string error)
    {
        using var work = new TemporaryFile("unused");

        var run = SampleProcess.Run(sample, [argument], work, output: output);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(error, run.SingleError());
    }

    [Theory]
    [InlineData("ImageClassifier", "--checkpoint FILE")]
    [InlineData("CompareBackbones", "--checkpoint-dir DIR")]
    public void Help_describes_the_options_and_exits_0(string sample, string option)
    {
        using var work = new TemporaryFile("unused");

        var run = SampleProcess.Run(sample, ["--help"], work, output: output);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains(option, run.Output);
        Assert.Contains("GOODTRANSFER_MIRROR", run.Output);
    }
}
