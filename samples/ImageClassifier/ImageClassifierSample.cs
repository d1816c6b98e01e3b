using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;
using static System.FormattableString;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// Trains a classifier on a folder of images: <c>LoadImages</c>, <c>GoodTransferFeaturize</c>, a linear
/// classifier on the features; evaluates it on held-out images, saves the whole pipeline as one model zip,
/// loads the zip back and predicts with it.
/// </summary>
internal static class ImageClassifierSample
{
    private const int Seed = 1;
    private const double DefaultTestFraction = 0.3;
    private const string DefaultModelFile = "image-classifier.zip";

    /// <summary>The sample's command line; its action is the sample.</summary>
    public static RootCommand Command()
    {
        var data = SampleCommandLine.DataOption();
        var backbone = SampleCommandLine.BackboneOption(
            "--backbone", "NAME", "One of the paper's 24 backbones, in any case, downloaded once into the cache [default: MocoV2ImageNet]");
        var checkpoint = new Option<string?>("--checkpoint") { HelpName = "FILE", Description = "A PyTorch ResNet checkpoint (.pth) on disk, instead of --backbone" };
        var model = new Option<string>("--model") { HelpName = "FILE", Description = "Where to save the trained model", DefaultValueFactory = _ => DefaultModelFile };
        var testFraction = SampleCommandLine.Fraction("--test-fraction", "F", "The share of each class held out for testing", DefaultTestFraction, 0, 1);
        var command = SampleCommandLine.Root(
            "ImageClassifier: trains and evaluates an image classifier on the features of a pretrained backbone.", data, backbone, checkpoint, model, testFraction);
        command.Validators.Add(result =>
        {
            if (result.GetResult(backbone) is not null && result.GetResult(checkpoint) is not null)
            {
                result.AddError("give --backbone or --checkpoint, not both");
            }
        });
        command.SetAction(result => Run(
            result.GetValue(data),
            ChooseBackbone(result.GetValue(backbone), result.GetValue(checkpoint)),
            result.GetRequiredValue(model),
            result.GetValue(testFraction)));
        return command;
    }

    private static int Run(string? dataFolder, Backbone backbone, string modelFile, double testFraction)
    {
        var modelPath = Path.GetFullPath(modelFile);
        if (!Directory.Exists(Path.GetDirectoryName(modelPath)))
        {
            throw SampleFailure.BadInput($"the folder of --model '{modelPath}' does not exist");
        }

        var data = ImageFolder.Load(dataFolder);
        var (train, test) = data.Split(testFraction, Seed);
        foreach (var line in data.Summary())
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"Backbone:  {Describe(backbone)}");
        Console.WriteLine($"Split:     {train.Count} images to train on, {test.Count} held out to test, stratified by class (seed {Seed})");

        var mlContext = new MLContext(seed: Seed);
        SampleConsole.FollowGoodTransferLog(mlContext);
        IReadOnlyList<LabelledImage> all = [.. train, .. test];
        var images = ImageFeaturizer.Images(mlContext, all);
        using var featurizer = ImageFeaturizer.Fit(mlContext, backbone, images, backbone.Name);
        var features = ImageFeaturizer.Featurize(featurizer, images, all);
        var trainRows = Enumerable.Range(0, train.Count).ToList();
        var testRows = Enumerable.Range(train.Count, test.Count).ToList();

        var classifier = LinearProbe.Estimator(mlContext).Fit(features.AsDataView(mlContext, trainRows));
        var scored = classifier.Transform(features.AsDataView(mlContext, testRows));
        var metrics = mlContext.MulticlassClassification.Evaluate(scored);
        Console.WriteLine();
        Console.WriteLine(Invariant($"Held-out accuracy, {test.Count} images (chance {1.0 / data.Classes.Count:F3}):"));
        Console.WriteLine(Invariant($"  micro-accuracy  {metrics.MicroAccuracy:F3}"));
        Console.WriteLine(Invariant($"  macro-accuracy  {metrics.MacroAccuracy:F3}"));
        Console.WriteLine(Invariant($"  log-loss        {metrics.LogLoss:F3} (log-loss reduction {metrics.LogLossReduction:F3})"));
        Console.WriteLine();
        ConfusionMatrixTable.Print(metrics.ConfusionMatrix, ClassNames(scored));

        // One model from image file to class: the fitted featurizer, then the classifier. Only the featurizer
        // holds native resources (ONNX Runtime sessions), and disposing it frees them.
        var model = featurizer.Append(classifier);
        mlContext.Model.Save(model, images.Schema, modelPath);
        Console.WriteLine();
        Console.WriteLine(Invariant($"Model:     {modelPath} ({new FileInfo(modelPath).Length / 1e6:F1} MB: featurizer and classifier)"));

        PredictWithSavedModel(modelPath, data, test, PredictedClasses(scored));
        return ExitCodes.Ok;
    }

    private static Backbone ChooseBackbone(string? name, string? checkpoint)
    {
        if (checkpoint is not null)
        {
            var path = Path.GetFullPath(checkpoint);
            return File.Exists(path) ? Backbone.FromFile(path) : throw SampleFailure.Checkpoint($"checkpoint file '{path}' does not exist");
        }

        return name is null ? Backbone.MocoV2ImageNet : BackboneNames.Resolve(name);
    }

    private static string Describe(Backbone backbone) =>
        backbone.CheckpointPath is { } path
            ? $"{backbone.Name} (local checkpoint {path})"
            : $"{backbone.Name}: {BackboneNames.Method(backbone)} on {BackboneNames.Data(backbone)}, augmentations {BackboneNames.Augmentations(backbone)} ({backbone.FileName})";

    /// <summary>The class names in the order of the label's keys, which is the order of the confusion matrix.</summary>
    private static List<string> ClassNames(IDataView scored)
    {
        var names = default(VBuffer<ReadOnlyMemory<char>>);
        scored.Schema["Label"].GetKeyValues(ref names);
        return [.. names.DenseValues().Select(n => n.ToString())];
    }

    private static List<string> PredictedClasses(IDataView scored) =>
        [.. scored.GetColumn<string>("PredictedLabel")];

    /// <summary>
    /// Loads the saved zip as a user's application would, and predicts the first held-out image of each
    /// class with a <see cref="PredictionEngine{TSrc, TDst}"/>, checking its answers against the evaluation's.
    /// </summary>
    private static void PredictWithSavedModel(string modelPath, ImageFolder data, IReadOnlyList<LabelledImage> test, List<string> evaluated)
    {
        var mlContext = new MLContext(seed: Seed);
        var loaded = mlContext.Model.Load(modelPath, out _);
        try
        {
            using var engine = mlContext.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(loaded);
            var shown = Enumerable.Range(0, test.Count).GroupBy(i => test[i].Label).Select(g => g.First()).ToList();
            var files = shown.Select(i => Path.GetRelativePath(data.Root, test[i].Path).Replace(Path.DirectorySeparatorChar, '/')).ToList();
            var table = new Table().Border(TableBorder.Rounded).AddColumns("file", "true", "predicted", "score", string.Empty);
            table.Columns[3].RightAligned();
            var agreeing = 0;
            for (var n = 0; n < shown.Count; n++)
            {
                var image = test[shown[n]];
                // Label is part of the model's input (the classifier maps it to a key); for a new image leave it empty.
                var prediction = engine.Predict(new ImageInput { Path = image.Path, Label = image.Label });
                agreeing += prediction.PredictedLabel == evaluated[shown[n]] ? 1 : 0;
                var right = prediction.PredictedLabel == image.Label;
                table.AddRow(
                    new Text(files[n]),
                    new Text(image.Label),
                    new Text(prediction.PredictedLabel, new Style(right ? Color.Green : Color.Red)),
                    new Text(Invariant($"{prediction.Score.Max():F3}")),
                    new Text(right ? string.Empty : "wrong", new Style(Color.Red)));
            }

            Console.WriteLine();
            Console.WriteLine($"Predictions of the saved model, loaded again from {Path.GetFileName(modelPath)}, for one held-out image of each class:");
            SampleConsole.Results.Write(table);
            Console.WriteLine($"The loaded model agrees with the evaluation on {agreeing} of {shown.Count} images.");
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>What the saved model adds to an <see cref="ImageInput"/>: the predicted class and a score per class.</summary>
    private sealed class ImagePrediction
    {
        public string PredictedLabel { get; set; } = string.Empty;

        public float[] Score { get; set; } = [];
    }
}
