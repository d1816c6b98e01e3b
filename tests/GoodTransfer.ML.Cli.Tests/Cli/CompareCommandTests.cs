using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Cli;

/// <summary><c>goodtransfer compare</c>: the linear probe cross-validated on each backbone's features.</summary>
[Collection(FeatureFileGroup.Name)]
public sealed class CompareCommandTests(FeatureFileFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Compare_cross_validates_each_backbone_and_prints_a_table()
    {
        using var work = new TemporaryFile("unused");
        var moco = FeatureFixtures.Backbone.CheckpointPath!;
        var other = Path.Combine(work.Folder, "other.pth");
        File.Copy(moco, other);

        var run = CliProcess.Run(["compare", fixture.ImageFolder, "--backbones", $"{moco},{other}", "--folds", "3"], work, output: output);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"Data: {fixture.ImageFolder}: {fixture.Images.Count} images in 4 classes; 3-fold cross-validation, stratified by class (seed 1)", run.Output, StringComparison.Ordinal);
        var rows = run.Output.Split('\n').Where(l => l.StartsWith("│ bottleneck_moco_v2 ", StringComparison.Ordinal) || l.StartsWith("│ other ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);
        // The same weights under two names: the same features, folds and accuracies.
        var accuracies = rows.Select(r => r.Split('│')[5].Trim()).ToList();
        Assert.Matches(@"^\d+\.\d ± \d+\.\d$", accuracies[0]);
        Assert.Equal(accuracies[0], accuracies[1]);
        Assert.Equal(3, rows[0].Split('│')[6].Split(',').Length);
    }

    [Fact]
    public void Compare_on_images_without_classes_exits_2()
    {
        using var work = new TemporaryFile("unused");
        var list = Path.Combine(work.Folder, "images.txt");
        File.WriteAllLines(list, fixture.Images.Select(i => i.Path));

        var run = CliProcess.Run(["compare", list, "--backbones", FeatureFixtures.Backbone.CheckpointPath!], work, output: output);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"error: '{list}' holds images outside class subfolders", run.SingleError(), StringComparison.Ordinal);
    }
}
