using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;
using static System.FormattableString;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// Compares backbones on one image set: each backbone featurizes every image once, then a linear probe is
/// cross-validated on the features (stratified k-fold), and the results are printed as a table like the
/// paper's, with a PCA plot of each backbone's features.
/// </summary>
internal static class CompareBackbonesSample
{
    private const int Seed = 1;
    private const int DefaultFolds = 5;
    private const string DefaultPlotFile = "backbones-pca.png";

    /// <summary>
    /// The paper's story in four backbones: instance discrimination against supervised pretraining on the same
    /// data (MoCo v2 and supervised on ImageNet, Tables 1 and 2); instance discrimination on other images (MoCo
    /// v2 on Places, Table 2); and the paper's exemplar-based supervised pretraining (Table 3).
    /// </summary>
    private static readonly string[] DefaultBackbones =
        [nameof(Backbone.MocoV2ImageNet), nameof(Backbone.SupervisedImageNet), nameof(Backbone.MocoV2Places), nameof(Backbone.ExemplarV2)];

    /// <summary>The sample's command line; its action is the sample.</summary>
    public static RootCommand Command()
    {
        var data = SampleCommandLine.DataOption();
        var backbones = SampleCommandLine.BackboneOption(
            "--backbones", "A,B,C", $"Backbone names, comma-separated, in any case [default: {string.Join(',', DefaultBackbones)}]");
        var checkpointFolder = new Option<string?>("--checkpoint-dir")
        {
            HelpName = "DIR",
            Description = "A folder holding the backbones' checkpoints under their published file names (moco_v2_imagenet.pth, ...): read from there, nothing is downloaded",
        };
        var folds = SampleCommandLine.WholeNumber("--folds", "K", "Folds of the cross-validation, stratified by class", DefaultFolds, 2, 50);
        var plot = new Option<string>("--plot") { HelpName = "FILE", Description = "Where to write the PCA plot, a PNG", DefaultValueFactory = _ => DefaultPlotFile };
        var command = SampleCommandLine.Root(
            "CompareBackbones: linear-probe accuracy of several of the paper's backbones on your images, by k-fold cross-validation, as a table like the paper's, and a PCA plot of their features.",
            data,
            backbones,
            checkpointFolder,
            folds,
            plot);
        command.SetAction(result => Run(
            result.GetValue(data),
            ChooseBackbones(result.GetValue(backbones), result.GetValue(checkpointFolder)),
            result.GetValue(folds),
            result.GetRequiredValue(plot)));
        return command;
    }

    private static int Run(string? dataFolder, List<BackboneChoice> choices, int folds, string plotFile)
    {
        var plotPath = Path.GetFullPath(plotFile);
        if (!Directory.Exists(Path.GetDirectoryName(plotPath)))
        {
            throw SampleFailure.BadInput($"the folder of --plot '{plotPath}' does not exist");
        }

        var data = ImageFolder.Load(dataFolder);
        if (data.Images.Count < folds)
        {
            throw SampleFailure.BadInput($"{data.Images.Count} images in '{data.Root}' cannot make {folds} folds");
        }

        var foldOf = data.StratifiedFolds(folds, Seed);
        foreach (var line in data.Summary())
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"Backbones: {string.Join(", ", choices.Select(c => c.Catalog.Name))}");
        Console.WriteLine($"Probe:     {folds}-fold cross-validation, stratified by class (seed {Seed}): each image is held out once");
        if (data.SmallestClass < folds)
        {
            Console.WriteLine($"Note:      the smallest class has {data.SmallestClass} image{(data.SmallestClass == 1 ? string.Empty : "s")}, fewer than {folds} folds, so some folds hold none of it");
        }

        var mlContext = new MLContext(seed: Seed);
        SampleConsole.FollowGoodTransferLog(mlContext);
        var images = ImageFeaturizer.Images(mlContext, data.Images);
        var allRows = Enumerable.Range(0, data.Images.Count).ToList();
        var results = new List<BackboneResult>();
        foreach (var (choice, number) in choices.Select((c, i) => (c, i + 1)))
        {
            FeatureSet features;
            using (var featurizer = ImageFeaturizer.Fit(mlContext, choice.Source, images, $"[{number}/{choices.Count}] {choice.Catalog.Name}"))
            {
                features = ImageFeaturizer.Featurize(featurizer, images, data.Images);
            }

            var view = features.AsDataView(mlContext, allRows, (foldOf, folds));
            var result = CrossValidate(mlContext, view, folds, choice, features);
            var perFold = string.Join(", ", result.Accuracies.Select(a => Invariant($"{a * 100:F1}")));
            Console.WriteLine($"{choice.Catalog.Name}: {result.Accuracy} % over {folds} folds ({perFold}); held-out folds of {result.HeldOut}");
            results.Add(result);
        }

        Console.WriteLine();
        PrintTable(results, data, folds);

        var labels = data.Images.Select(i => i.Label).ToList();
        var panels = results.Select(r => new PlotPanel(r.Choice.Catalog.Name, $"linear probe {r.Accuracy} %", Projection.Of(mlContext, r.Features))).ToList();
        ProjectionPlot.Write(plotPath, $"PCA of each backbone's standardized features, {data.Images.Count} images coloured by class", panels, labels, data.Classes);
        var (width, height) = ProjectionPlot.Size(panels.Count);
        Console.WriteLine();
        Console.WriteLine($"Plot:      {plotPath} ({width} x {height} pixels, {panels.Count} panel{(panels.Count == 1 ? string.Empty : "s")})");
        return ExitCodes.Ok;
    }

    /// <summary>The catalog entries named (or the defaults), each with where its weights come from: the cache, or the checkpoint folder.</summary>
    private static List<BackboneChoice> ChooseBackbones(string? names, string? checkpointFolder)
    {
        var catalog = (names?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? DefaultBackbones)
            .Select(BackboneNames.Resolve)
            .Distinct()
            .ToList();
        if (catalog.Count == 0)
        {
            throw SampleFailure.BadInput("--backbones names no backbone", BackboneNames.ValidNames());
        }

        if (checkpointFolder is null)
        {
            return [.. catalog.Select(b => new BackboneChoice(b, b))];
        }

        var folder = Path.GetFullPath(checkpointFolder);
        if (!Directory.Exists(folder))
        {
            throw SampleFailure.Checkpoint($"checkpoint folder '{folder}' does not exist");
        }

        var missing = catalog.Where(b => !File.Exists(Path.Combine(folder, b.FileName))).Select(b => $"{b.FileName} ({b.Name})").ToList();
        if (missing.Count > 0)
        {
            throw SampleFailure.Checkpoint($"checkpoint folder '{folder}' lacks {string.Join(", ", missing)}; it must hold each backbone's checkpoint under its published file name");
        }

        return [.. catalog.Select(b => new BackboneChoice(b, Backbone.FromFile(Path.Combine(folder, b.FileName))))];
    }

    /// <summary>Cross-validates the linear probe on the features, with the planned folds as the sampling key.</summary>
    private static BackboneResult CrossValidate(MLContext mlContext, IDataView view, int folds, BackboneChoice choice, FeatureSet features)
    {
        // A key column with exactly one key per fold: CrossValidate keeps rows with the same key in the same fold,
        // and key k of K lands in fold k, so the folds are the stratified ones planned.
        var runs = mlContext.MulticlassClassification.CrossValidate(view, LinearProbe.Estimator(mlContext), folds, "Label", samplingKeyColumnName: "Fold", seed: Seed);
        var ordered = runs.OrderBy(r => r.Fold).ToList();
        var accuracies = ordered.Select(r => r.Metrics.MicroAccuracy).ToList();
        var heldOut = ordered.Select(r => r.ScoredHoldOutSet.GetColumn<uint>("Label").ToList()).ToList();
        foreach (var run in ordered)
        {
            (run.Model as IDisposable)?.Dispose();
        }

        var mean = accuracies.Average();
        var deviation = Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / (accuracies.Count - 1));
        return new BackboneResult(choice, features, accuracies, HeldOut(heldOut, features.Images.Select(i => i.Label).Distinct().Count()), mean, deviation);
    }

    /// <summary>What the folds held out, counted in CrossValidate's own held-out sets: "100, 100, 100 images, 10 of each class".</summary>
    private static string HeldOut(List<List<uint>> labelsPerFold, int classes)
    {
        var perClass = labelsPerFold.SelectMany(fold => Enumerable.Range(1, classes).Select(key => fold.Count(k => k == key))).ToList();
        var (fewest, most) = (perClass.Min(), perClass.Max());
        var share = fewest == most ? $"{fewest}" : $"{fewest} to {most}";
        return $"{string.Join(", ", labelsPerFold.Select(f => f.Count))} images, {share} of each class";
    }

    /// <summary>The results as a Markdown table (to paste into a document) in the paper's terms: method, pretraining data, augmentations.</summary>
    private static void PrintTable(List<BackboneResult> results, ImageFolder data, int folds)
    {
        Console.WriteLine($"Linear-probe accuracy on {data.Images.Count} images of {data.Classes.Count} classes ({Path.GetFileName(data.Root)}), {folds}-fold cross-validation, mean ± standard deviation across folds:");
        var table = new Table().Border(TableBorder.Markdown).AddColumns("backbone", "method", "data", "augmentations", "accuracy (%)", "featurize");
        foreach (var r in results)
        {
            var backbone = r.Choice.Catalog;
            var elapsed = r.Features.Elapsed.TotalSeconds;
            table.AddRow(
                new Text(backbone.Name, new Style(decoration: Decoration.Bold)),
                new Text(BackboneNames.Method(backbone)),
                new Text(BackboneNames.Data(backbone)),
                new Text(BackboneNames.Augmentations(backbone)),
                new Text(r.Accuracy),
                new Text(Invariant($"{elapsed:F1} s ({r.Features.Images.Count / elapsed:F0} images/s)")));
        }

        SampleConsole.Results.Write(table);
    }

    /// <summary>A backbone as the catalog describes it, and the backbone that supplies its weights (the same one, or its file in --checkpoint-dir).</summary>
    private sealed record BackboneChoice(Backbone Catalog, Backbone Source);

    /// <summary>A backbone's features and its probe's accuracy on each fold, with what each fold held out.</summary>
    private sealed record BackboneResult(BackboneChoice Choice, FeatureSet Features, IReadOnlyList<double> Accuracies, string HeldOut, double Mean, double StandardDeviation)
    {
        /// <summary>Mean ± standard deviation across folds, in percent, as the paper's tables give them.</summary>
        public string Accuracy => Invariant($"{Mean * 100:F1} ± {StandardDeviation * 100:F1}");
    }
}
