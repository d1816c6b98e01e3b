using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML.Cli.Console;
using Microsoft.ML;
using Spectre.Console;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary>
/// <c>goodtransfer compare INPUT --backbones A,B,C</c>: each backbone featurizes the labelled images once, and
/// the library's <see cref="LinearProbe"/> is cross-validated on each one's features; the results as a table.
/// </summary>
internal static class CompareCommand
{
    private const int Seed = 1;

    public static Command Create()
    {
        var input = new Argument<string>("INPUT") { Description = "A folder with one subfolder of images per class, named after the class" };
        var backbones = new Option<string>("--backbones")
        {
            Description = "Backbones to compare, comma-separated: names (any case) or checkpoint files (.pth)",
            Required = true,
            HelpName = "A,B,C",
        };
        backbones.CompletionSources.Add(_ => CommonOptions.BackboneNames());
        var folds = new Option<int>("--folds")
        {
            Description = "Folds of the cross-validation, stratified by class, 2 to 50",
            DefaultValueFactory = _ => 5,
            Validators =
            {
                result =>
                {
                    if (result.GetValueOrDefault<int>() is < 2 or > 50)
                    {
                        result.AddError("--folds must be from 2 to 50.");
                    }
                },
            },
        };
        var layer = CommonOptions.Layer();
        var batchSize = CommonOptions.BatchSize();
        var command = new Command("compare", "Compare backbones on your labelled images: the linear-probe accuracy of each one's features by stratified k-fold cross-validation, as the paper compares them")
        {
            input, backbones, folds, layer, batchSize,
        };
        command.SetAction(result => CommandRunner.Run(downloads =>
        {
            var chosen = result.GetValue(backbones)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(Backbones.NamedOrFile)
                .DistinctBy(b => b.CheckpointPath ?? b.Name)
                .ToList();
            if (chosen.Count == 0)
            {
                throw CliFailure.BadInput("--backbones names no backbone");
            }

            var options = CommonOptions.Library(result, downloads);
            options.FeatureLayer = result.GetValue(layer);
            options.BatchSize = result.GetValue(batchSize);
            return Run(result.GetValue(input)!, chosen, result.GetValue(folds), options, downloads);
        }));
        return command;
    }

    private static int Run(string input, IReadOnlyList<Backbone> backbones, int folds, GoodTransferOptions options, DownloadBars downloads)
    {
        var images = FeaturizationPlan.ListImages(input);
        var classes = images.Select(i => i.Label).Distinct().ToList();
        if (classes.Contains(null))
        {
            throw CliFailure.BadInput($"'{input}' holds images outside class subfolders (or is a list without labels): compare needs one subfolder of images per class");
        }

        if (classes.Count < 2)
        {
            throw CliFailure.BadInput($"'{input}' has images of one class ('{classes[0]}'); a classifier needs at least two class subfolders");
        }

        if (images.Count < folds)
        {
            throw CliFailure.BadInput($"{images.Count} images cannot make {folds} folds");
        }

        Terminal.Line($"Data: {Path.GetFullPath(input)}: {images.Count} images in {classes.Count} classes; {folds}-fold cross-validation, stratified by class (seed {Seed})");
        var plan = FeaturizationPlan.Create(images, Path.Combine(Path.GetTempPath(), "unused.parquet"));
        var mlContext = new MLContext(seed: Seed);
        var results = new List<(Backbone Backbone, LinearProbeResult Probe, double Seconds)>();
        Terminal.Progress().Start(context =>
        {
            downloads.Context = context;
            foreach (var backbone in backbones)
            {
                var task = context.AddTask($"{Markup.Escape(backbone.Name)}", maxValue: images.Count);
                IReadOnlyList<FeatureRow> rows;
                var clock = new Stopwatch();
                using (var featurizer = mlContext.Transforms.GoodTransferFeaturize(backbone, options: options).Fit(plan.ToDataView(mlContext)))
                {
                    downloads.Complete(backbone.FileName);
                    clock.Start();
                    rows = plan.Featurize(mlContext, featurizer, new Progress(done => task.Value = done));
                    clock.Stop();
                }

                results.Add((backbone, LinearProbe.CrossValidate(mlContext, FeatureFile.ToDataView(mlContext, rows), folds, Seed), clock.Elapsed.TotalSeconds));
            }
        });

        var table = new Table().Border(TableBorder.Rounded).AddColumns("backbone", "method", "data", "augmentations", "accuracy (%)", "per fold (%)", "featurize");
        foreach (var (backbone, probe, seconds) in results)
        {
            table.AddRow(
                new Text(backbone.Name),
                new Text(Backbones.Method(backbone)),
                new Text(Backbones.Data(backbone)),
                new Text(Backbones.Augmentations(backbone)),
                new Text(string.Create(CultureInfo.InvariantCulture, $"{probe.Mean * 100:F1} ± {probe.StandardDeviation * 100:F1}")),
                new Text(string.Join(", ", probe.FoldAccuracies.Select(a => (a * 100).ToString("F1", CultureInfo.InvariantCulture)))),
                new Text(string.Create(CultureInfo.InvariantCulture, $"{seconds:F1} s ({images.Count / Math.Max(seconds, 1e-3):F0} images/s)")));
        }

        Terminal.Out.Write(table);
        Terminal.Line("Accuracy: the linear probe's (standardized features, multinomial logistic regression) on the held-out fold, mean ± standard deviation across folds.");
        return ExitCodes.Ok;
    }

    /// <summary>Reports on the featurizing thread.</summary>
    private sealed class Progress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
