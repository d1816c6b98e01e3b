using System.Globalization;
using GoodTransfer.ML.Tests.Support;
using SkiaSharp;

namespace GoodTransfer.ML.Tests.Samples;

/// <summary>
/// samples/CompareBackbones on the shipped images: every backbone featurizes once, the linear probe is
/// cross-validated on stratified folds, one table row per backbone, and a PCA plot. Two backbones and three
/// folds here (the defaults are four and five), to keep the suite short; both are the one generated ResNet-50
/// that the test mirror serves under every name.
/// </summary>
[Collection(SamplesWithMirror.Name)]
public sealed class CompareBackbonesTests(SampleCheckpoints checkpoints, Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Sample = "CompareBackbones";

    [Fact]
    public void Two_backbones_make_a_table_row_each_far_above_chance_on_stratified_folds_and_a_PCA_plot()
    {
        using var work = new TemporaryFile("unused");
        string[] files = [Backbone.SupervisedImageNet.FileName, Backbone.MocoV2Places.FileName];
        var requests = files.Select(checkpoints.Server.RequestsFor).ToList();

        // Names in any case; MocoV2Places is published as "moco_v2_palces.pth".
        var run = SampleProcess.Run(Sample, ["--backbones", "supervisedimagenet,MOCOV2PLACES", "--folds", "3"], work, checkpoints.Mirror, output);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(requests.Select(r => r + 1), files.Select(checkpoints.Server.RequestsFor));
        Assert.Equal(2, run.Error.Split('\n').Count(l => l.Contains("Featurized 300 images", StringComparison.Ordinal)));

        // Stratified: each fold holds out 100 images, 10 of each class, as counted in CrossValidate's held-out sets.
        Assert.Equal(2, run.OutputLines.Count(l => l.EndsWith("held-out folds of 100, 100, 100 images, 10 of each class", StringComparison.Ordinal)));

        // A Markdown table (Spectre's Markdown border), to paste into a document.
        var table = SampleRun.TableRows(run.OutputLines);
        Assert.Equal(["backbone", "method", "data", "augmentations", "accuracy (%)", "featurize"], table[0]);
        Assert.Single(run.OutputLines, l => l.StartsWith("| ---", StringComparison.Ordinal));
        var rows = table[1..];
        Assert.Equal(["SupervisedImageNet", "MocoV2Places"], rows.Select(r => r[0]));
        Assert.Equal(["supervised", "ImageNet", "f r c g b"], rows[0][1..4]);
        Assert.Equal(["MoCo v2", "Places", "-"], rows[1][1..4]);

        // Ten balanced classes: chance is 10%, and 150 or more of the 300 held-out images right by luck has a
        // probability below 1e-60. The generated ResNet-50 scores 72.0 ± 1.0 over three folds of 100.
        var accuracy = rows.Select(r => double.Parse(r[4].Split(" ± ")[0], CultureInfo.InvariantCulture)).ToList();
        Assert.All(accuracy, a => Assert.InRange(a, 50.0, 100.0));

        // The same weights under two names: the same features, so the same folds give the same figures.
        Assert.Equal(rows[0][4], rows[1][4]);

        var plot = Path.Combine(work.Folder, "backbones-pca.png");
        Assert.Contains($"Plot:      {plot} (1050 x 460 pixels, 2 panels)", run.Output);
        // One colour per class (Tableau's ten), besides the white background, the grey frames and grid and the black text.
        var colours = AssertPlot(plot, width: 1050, height: 460);
        Assert.True(colours >= SampleData.Classes.Count + 2, $"{colours} colours cover 0.1% of the plot or more");
    }

    [Fact]
    public void A_checkpoint_folder_is_read_offline_with_an_empty_cache()
    {
        using var work = new TemporaryFile("unused");
        var data = SampleData.Subset(Path.Combine(work.Folder, "data"), classes: 2, perClass: 4);
        var folder = Directory.CreateDirectory(Path.Combine(work.Folder, "checkpoints")).FullName;
        foreach (var backbone in new[] { Backbone.MocoV2ImageNet, Backbone.ExemplarV2 })
        {
            File.Copy(FixtureManifest.PathOf("checkpoints/bottleneck_moco_v2.pth"), Path.Combine(folder, backbone.FileName));
        }

        var run = SampleProcess.Run(Sample, ["--checkpoint-dir", folder, "--backbones", "MocoV2ImageNet,ExemplarV2", "--folds", "2", "--data", data, "--plot", "small.png"],
            work, SampleProcess.Offline, output);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(["MocoV2ImageNet", "ExemplarV2"], SampleRun.TableRows(run.OutputLines).Skip(1).Select(r => r[0]));
        Assert.Equal(2, run.OutputLines.Count(l => l.EndsWith("held-out folds of 4, 4 images, 2 of each class", StringComparison.Ordinal)));
        AssertPlot(Path.Combine(work.Folder, "small.png"), width: 1050, height: 460);
    }

    [Fact]
    public void A_checkpoint_folder_without_a_backbone_s_file_exits_3_naming_the_missing_files()
    {
        using var work = new TemporaryFile("unused");
        var folder = Directory.CreateDirectory(Path.Combine(work.Folder, "checkpoints")).FullName;
        File.Copy(FixtureManifest.PathOf("checkpoints/bottleneck_moco_v2.pth"), Path.Combine(folder, Backbone.MocoV2ImageNet.FileName));

        var run = SampleProcess.Run(Sample, ["--checkpoint-dir", folder], work, output: output);

        Assert.Equal(3, run.ExitCode);
        Assert.Equal(
            $"error: checkpoint folder '{folder}' lacks supervised_imagenet.pth (SupervisedImageNet), moco_v2_palces.pth (MocoV2Places), exemplar_v2.pth (ExemplarV2); " +
            "it must hold each backbone's checkpoint under its published file name",
            run.SingleError());
    }

    /// <summary>
    /// The PNG decodes, has the layout's size and has text and axes on it (near-black pixels, 0.7% of the
    /// sample's plot of four panels); returns how many colours cover at least 0.1% of it each.
    /// </summary>
    private static int AssertPlot(string path, int width, int height)
    {
        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        Assert.Equal((width, height), (bitmap.Width, bitmap.Height));
        var pixels = bitmap.Pixels;
        var dark = pixels.Count(p => Math.Max(p.Red, Math.Max(p.Green, p.Blue)) < 80);
        Assert.True(dark >= pixels.Length / 500, $"{dark} of {pixels.Length} pixels are near black: the plot has no text or axes");
        return pixels.GroupBy(p => p).Count(g => g.Count() >= width * height / 1000);
    }
}
