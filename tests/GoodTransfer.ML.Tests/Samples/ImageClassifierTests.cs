using System.Globalization;
using System.Text.RegularExpressions;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Tests.Samples;

/// <summary>
/// samples/ImageClassifier run as a new user runs it: with no arguments, it downloads MoCo v2's ImageNet
/// backbone (here a generated full-size ResNet-50 from the test mirror), learns the 300 shipped Fashion-MNIST
/// images, saves the model and predicts with the zip it loads back.
/// </summary>
[Collection(SamplesWithMirror.Name)]
public sealed class ImageClassifierTests(SampleCheckpoints checkpoints, Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Sample = "ImageClassifier";

    /// <summary>30 images of each of 10 classes, 30% held out: 9 of each class.</summary>
    private const int HeldOutPerClass = 9;

    [Fact]
    public void With_no_arguments_it_learns_the_shipped_images_far_above_chance_saves_the_model_and_predicts_with_the_loaded_zip()
    {
        using var work = new TemporaryFile("unused");
        var requests = checkpoints.Server.RequestsFor(Backbone.MocoV2ImageNet.FileName);

        var run = SampleProcess.Run(Sample, [], work, checkpoints.Mirror, output);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(requests + 1, checkpoints.Server.RequestsFor(Backbone.MocoV2ImageNet.FileName));
        // Redirected, Spectre's bars degrade to occasional percentage lines; each step ends with a line of its own.
        Assert.Single(run.ErrorLines, l => l.StartsWith("  Downloaded moco_v2_imagenet.pth: 102.5 MB at ", StringComparison.Ordinal));
        Assert.Single(run.ErrorLines, l => l.StartsWith("  Featurized 300 images in ", StringComparison.Ordinal));
        Assert.DoesNotContain('\u001b', run.Output + run.Error);

        // Ten balanced classes and 90 held-out images: chance is 0.10, and 45 or more right by luck has a
        // probability below 1e-20. The random-weight ResNet-50 scores 0.70 (seed 1); its log-loss, 0.86, is far
        // below chance's ln 10 = 2.30.
        var micro = Metric(run, "micro-accuracy");
        Assert.InRange(micro, 0.5, 1.0);
        Assert.InRange(Metric(run, "macro-accuracy"), 0.5, 1.0);
        Assert.InRange(Metric(run, "log-loss"), 0.0, 1.5);

        var matrix = ConfusionRows(run);
        Assert.Equal(SampleData.Classes, matrix.Select(r => r.Name));
        Assert.All(matrix, r => Assert.Equal(HeldOutPerClass, r.Counts.Sum()));
        var diagonal = matrix.Select((r, i) => r.Counts[i]).Sum();
        Assert.Equal(micro, diagonal / (double)(HeldOutPerClass * matrix.Count), 3);

        var modelPath = Path.Combine(work.Folder, "image-classifier.zip");
        Assert.Contains($"Model:     {modelPath}", run.Output);
        AssertLoads(modelPath);

        var predictions = Predictions(run);
        Assert.Equal(SampleData.Classes, predictions.Select(p => p.True));
        Assert.All(predictions, p =>
        {
            Assert.True(File.Exists(Path.Combine(SampleProcess.DefaultData(Sample), p.File)), p.File);
            Assert.Equal(p.True, p.File.Split('/')[0]);
            Assert.Contains(p.Predicted, SampleData.Classes);
            Assert.InRange(p.Score, 0.1, 1.0);
        });
        Assert.Contains("The loaded model agrees with the evaluation on 10 of 10 images.", run.Output);
    }

    [Fact]
    public void A_local_checkpoint_trains_offline_with_an_empty_cache()
    {
        using var work = new TemporaryFile("unused");
        var data = SampleData.Subset(Path.Combine(work.Folder, "data"), classes: 2, perClass: 4);
        var checkpoint = FixtureManifest.PathOf("checkpoints/bottleneck_moco_v2.pth");
        var model = Path.Combine(work.Folder, "small.zip");

        var run = SampleProcess.Run(Sample, ["--checkpoint", checkpoint, "--data", data, "--model", model], work, SampleProcess.Offline, output);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"Backbone:  bottleneck_moco_v2 (local checkpoint {checkpoint})", run.Output);
        Assert.Contains("Split:     6 images to train on, 2 held out to test", run.Output);
        Assert.Equal(2, ConfusionRows(run).Count);
        Assert.True(File.Exists(model));
        Assert.Equal(2, Predictions(run).Count);
    }

    [Fact]
    public void An_image_that_cannot_be_decoded_exits_2_naming_it()
    {
        using var work = new TemporaryFile("unused");
        var data = SampleData.Subset(Path.Combine(work.Folder, "data"), classes: 2, perClass: 4);
        var broken = Path.Combine(data, SampleData.Classes[1], "test-99999.png");
        File.WriteAllText(broken, "not a PNG, whatever its name says");
        var checkpoint = FixtureManifest.PathOf("checkpoints/bottleneck_moco_v2.pth");

        var run = SampleProcess.Run(Sample, ["--checkpoint", checkpoint, "--data", data], work, SampleProcess.Offline, output);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"error: image '{broken}' cannot be decoded (", run.SingleError());
    }

    [Fact]
    public void A_checkpoint_the_mirror_does_not_have_exits_3_naming_the_file_and_its_URL()
    {
        using var work = new TemporaryFile("unused");
        using var emptyMirror = new CheckpointServer();

        var run = SampleProcess.Run(Sample, [], work, SampleProcess.MirrorAt(emptyMirror.BaseUrl), output);

        Assert.Equal(3, run.ExitCode);
        var error = run.SingleError();
        Assert.Contains($"{emptyMirror.BaseUrl}moco_v2_imagenet.pth", error);
        Assert.Contains("404", error);
        Assert.Equal(1, emptyMirror.RequestsFor("moco_v2_imagenet.pth"));
        Assert.False(File.Exists(Path.Combine(work.Folder, "image-classifier.zip")));
    }

    [Fact]
    public void A_file_that_is_not_a_checkpoint_exits_3_naming_it()
    {
        using var work = new TemporaryFile("unused");
        var notACheckpoint = Path.Combine(work.Folder, "notes.pth");
        File.WriteAllText(notACheckpoint, "these are my notes, not a PyTorch checkpoint\n");

        var run = SampleProcess.Run(Sample, ["--checkpoint", notACheckpoint], work, output: output);

        Assert.Equal(3, run.ExitCode);
        Assert.Contains(notACheckpoint, run.SingleError());
    }

    [Fact]
    public void A_checkpoint_file_that_does_not_exist_exits_3_naming_it()
    {
        using var work = new TemporaryFile("unused");
        var missing = Path.Combine(work.Folder, "moco_v2_imagenet.pth");

        var run = SampleProcess.Run(Sample, ["--checkpoint", missing], work, output: output);

        Assert.Equal(3, run.ExitCode);
        Assert.Equal($"error: checkpoint file '{missing}' does not exist", run.SingleError());
    }

    [Fact]
    public void Offline_with_an_empty_cache_exits_3_naming_the_file_and_where_it_belongs()
    {
        using var work = new TemporaryFile("unused");

        var run = SampleProcess.Run(Sample, [], work, SampleProcess.Offline, output);

        Assert.Equal(3, run.ExitCode);
        var error = run.SingleError();
        Assert.Contains("offline", error);
        Assert.Contains(Path.Combine(SampleProcess.Cache(work), "checkpoints", "moco_v2_imagenet.pth"), error);
    }

    public static TheoryData<string, string> DataFolderProblems => new()
    {
        { "empty", "contains no images" },
        { "one class", "has images of only one class ('Ankle_boot')" },
        { "no images", "contains no images" },
        { "loose images", "its images must be in one subfolder per class" },
    };

    [Theory]
    [MemberData(nameof(DataFolderProblems))]
    public void A_data_folder_that_cannot_be_used_exits_2_naming_it(string problem, string reason)
    {
        using var work = new TemporaryFile("unused");
        var data = Path.Combine(work.Folder, "photos");
        switch (problem)
        {
            case "empty":
                Directory.CreateDirectory(data);
                break;
            case "one class":
                SampleData.Subset(data, classes: 1, perClass: 3);
                break;
            case "no images":
                File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(data, "cats")).FullName, "readme.txt"), "no pictures here");
                break;
            case "loose images":
                SampleData.Subset(data, classes: 1, perClass: 2);
                foreach (var image in Directory.GetFiles(Path.Combine(data, SampleData.Classes[0])))
                {
                    File.Move(image, Path.Combine(data, Path.GetFileName(image)));
                }

                break;
            default:
                break;
        }

        var run = SampleProcess.Run(Sample, ["--data", data], work, output: output);

        Assert.Equal(2, run.ExitCode);
        var error = run.SingleError();
        Assert.StartsWith($"error: data folder '{data}' ", error);
        Assert.Contains(reason, error);
    }

    private static double Metric(SampleRun run, string name)
    {
        var match = Regex.Match(run.Output, $@"^  {Regex.Escape(name)}\s+([0-9.]+)", RegexOptions.Multiline);
        Assert.True(match.Success, $"no {name} in:\n{run.Output}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The confusion matrix's rows: "│ 3 │ Dress │ . │ 1 │ 9 │ ... │ 0.78 │", a dot for zero.</summary>
    private static List<(string Name, int[] Counts)> ConfusionRows(SampleRun run)
    {
        var rows = SampleRun.TableRows(run.OutputLines.SkipWhile(l => !l.StartsWith("Confusion matrix", StringComparison.Ordinal)).TakeWhile(l => !l.Contains("precision", StringComparison.Ordinal)));
        return [.. rows.Where(r => int.TryParse(r[0], CultureInfo.InvariantCulture, out _)).Select(r =>
            (r[1], r[2..^1].Select(c => c == "." ? 0 : int.Parse(c, CultureInfo.InvariantCulture)).ToArray()))];
    }

    /// <summary>The rows of the predictions' table: file, true class, predicted class, score, and "wrong" where it is.</summary>
    private static List<(string File, string True, string Predicted, double Score)> Predictions(SampleRun run)
    {
        var rows = SampleRun.TableRows(run.OutputLines.SkipWhile(l => !l.StartsWith("Predictions of the saved model", StringComparison.Ordinal)).TakeWhile(l => !l.StartsWith("The loaded model", StringComparison.Ordinal)));
        Assert.Equal(["file", "true", "predicted", "score", string.Empty], rows[0]);
        Assert.All(rows.Skip(1), r => Assert.Equal(r[1] == r[2] ? string.Empty : "wrong", r[4]));
        return [.. rows.Skip(1).Select(r => (r[0], r[1], r[2], double.Parse(r[3], CultureInfo.InvariantCulture)))];
    }

    /// <summary>The zip loads in this process and maps an image path to a class name and ten scores.</summary>
    private static void AssertLoads(string modelPath)
    {
        var mlContext = new MLContext();
        var model = mlContext.Model.Load(modelPath, out var inputSchema);
        try
        {
            Assert.Equal(["Path", "Label"], inputSchema.Select(c => c.Name));
            var outputSchema = model.GetOutputSchema(inputSchema);
            Assert.Equal(TextDataViewType.Instance, outputSchema["PredictedLabel"].Type);
            Assert.Equal(10, ((VectorDataViewType)outputSchema["Score"].Type).Size);
        }
        finally
        {
            (model as IDisposable)?.Dispose();
        }
    }
}
