using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML.Cli.Console;
using Microsoft.ML;
using Spectre.Console;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary>
/// <c>goodtransfer featurize INPUT (--backbone NAME | --checkpoint FILE) --out OUT</c>: images to a feature
/// file, or one shard of them to <c>part-I-of-N.parquet</c> (see <see cref="FeaturizationPlan"/>); a part that
/// is already complete is skipped, so rerunning a job resumes it.
/// </summary>
internal static class FeaturizeCommand
{
    /// <summary>How many of the whole (sorted) list calibrate an int8 model: the same images for every shard, so that every part has the same model.</summary>
    private const int CalibrationImages = 32;

    public static Command Create()
    {
        var input = new Argument<string>("INPUT")
        {
            Description = "A folder of images, searched recursively (the class subfolder's name becomes each image's label), or a text file of image paths, one a line",
        };
        var backbone = new Option<string?>("--backbone") { Description = "A backbone name (see 'goodtransfer list')", HelpName = "NAME" };
        backbone.CompletionSources.Add(_ => CommonOptions.BackboneNames());
        var checkpoint = new Option<string?>("--checkpoint") { Description = "A PyTorch ResNet checkpoint file (.pth) instead of a named backbone", HelpName = "FILE" };
        var output = new Option<string>("--out")
        {
            Description = "A .parquet (or .csv) file, or a folder of parts (part-I-of-N.parquet); with --shard, a folder",
            Required = true,
            HelpName = "OUT",
        };
        var layer = CommonOptions.Layer();
        var precision = CommonOptions.Precision(Precision.Float32, Precision.Int8);
        var batchSize = CommonOptions.BatchSize();
        var shard = new Option<FeatureShard?>("--shard")
        {
            Description = "Featurize part I of N (from 0) of the sorted image list, into OUT/part-I-of-N.parquet; a complete part is skipped",
            HelpName = "I/N",
            CustomParser = parsed =>
            {
                try
                {
                    return FeatureShard.Parse(parsed.Tokens.Single().Value);
                }
                catch (FormatException e)
                {
                    parsed.AddError($"--shard: {e.Message}");
                    return null;
                }
            },
        };
        var format = new Option<FeatureFileFormat?>("--format") { Description = "Parquet or Csv [default: from OUT's extension, else Parquet]" };
        var cluster = new Option<string?>("--cluster") { Description = "Run on the silos of an Orleans cluster ('goodtransfer silo'): OUT is a folder of parts, one per batch", HelpName = "redis=HOST:PORT" };
        var clusterId = SiloCommand.ClusterId();
        var serviceId = SiloCommand.ServiceId();
        var imagesPerBatch = new Option<int>("--images-per-batch") { Description = "With --cluster: images per batch and per part", DefaultValueFactory = _ => 256, HelpName = "N" };
        imagesPerBatch.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--images-per-batch must be at least 1.");
            }
        });

        var command = new Command("featurize", "Featurize images into a Parquet feature file: path, label, features, with the backbone, checkpoint SHA-256, layer and precision as metadata")
        {
            input, backbone, checkpoint, output, layer, precision, batchSize, shard, format, cluster, clusterId, serviceId, imagesPerBatch,
        };
        command.Validators.Add(c =>
        {
            if ((c.GetValue(backbone) is null) == (c.GetValue(checkpoint) is null))
            {
                c.AddError("Give exactly one of --backbone NAME and --checkpoint FILE.");
            }

            if (c.GetValue(cluster) is not null && (c.GetValue(shard) is not null || c.GetValue(format) is FeatureFileFormat.Csv))
            {
                c.AddError("--cluster cuts its own batches into Parquet parts: it takes neither --shard nor --format Csv.");
            }

        });
        command.SetAction(result => CommandRunner.Run(downloads =>
        {
            var chosen = result.GetValue(backbone) is { } name ? Backbones.Named(name) : Backbones.NamedOrFile(result.GetValue(checkpoint)!);
            var options = CommonOptions.Library(result, downloads);
            options.FeatureLayer = result.GetValue(layer);
            options.Precision = result.GetValue(precision);
            options.BatchSize = result.GetValue(batchSize);
            if (result.GetValue(cluster) is { } clusterText)
            {
                return ClusterFeaturizeCommand.Run(result.GetValue(input)!, result.GetValue(output)!, clusterText, result.GetValue(clusterId)!, result.GetValue(serviceId)!, result.GetValue(imagesPerBatch), chosen, options);
            }

            return Run(result.GetValue(input)!, result.GetValue(output)!, result.GetValue(shard), result.GetValue(format), chosen, options, downloads);
        }));
        return command;
    }

    private static int Run(string input, string output, FeatureShard? shard, FeatureFileFormat? format, Backbone backbone, GoodTransferOptions options, DownloadBars downloads)
    {
        var images = FeaturizationPlan.ListImages(input);
        FeaturizationPlan plan;
        try
        {
            plan = FeaturizationPlan.Create(images, output, shard, format);
        }
        catch (ArgumentException e)
        {
            throw CliFailure.BadInput(e.Message);
        }

        var name = Path.GetFileName(plan.OutputPath);
        if (plan.Existing() is { } existing)
        {
            if (existing.Backbone != backbone.Name || existing.Layer != options.FeatureLayer || existing.Precision != options.Precision)
            {
                throw CliFailure.BadInput(
                    $"'{plan.OutputPath}' exists with features of {existing.Backbone} ({existing.Layer}, {existing.Precision}), not {backbone.Name} ({options.FeatureLayer}, {options.Precision}): delete it, or write to another --out");
            }

            Terminal.Line($"{name}: complete ({plan.Images.Count} images, {existing.Backbone}), skipped");
            return ExitCodes.Ok;
        }

        if (options.Precision == Precision.Int8)
        {
            options.CalibrationImages = [.. images.Take(CalibrationImages).Select(i => i.Path)];
        }

        var part = plan.Shard is { Count: > 1 } s ? $" (shard {s} of {plan.TotalImages} images)" : string.Empty;
        var mlContext = new MLContext(seed: 1);
        var clock = new Stopwatch();
        FeatureFileMetadata metadata = null!;
        Terminal.Progress().Start(context =>
        {
            downloads.Context = context;
            var preparing = context.AddTask($"Preparing {Markup.Escape(backbone.Name)}", maxValue: 1);
            preparing.IsIndeterminate = true;
            using var featurizer = mlContext.Transforms.GoodTransferFeaturize(backbone, options: options).Fit(plan.ToDataView(mlContext));
            downloads.Complete(backbone.FileName);
            preparing.IsIndeterminate = false;
            preparing.Value = 1;
            var featurizing = context.AddTask($"Featurizing {Markup.Escape(name)}", maxValue: plan.Images.Count);
            clock.Start();
            metadata = plan.Run(mlContext, featurizer, new Progress(done => featurizing.Value = done));
            clock.Stop();
        });

        var seconds = clock.Elapsed.TotalSeconds;
        Terminal.Line(string.Create(CultureInfo.InvariantCulture,
            $"Wrote {plan.OutputPath}: {plan.Images.Count} images{part}, {metadata.FeatureLength} features each ({metadata.Backbone}, {metadata.Layer}, {metadata.Precision}) in {seconds:F1} s ({plan.Images.Count / Math.Max(seconds, 1e-3):F1} images/s)"));
        return ExitCodes.Ok;
    }

    /// <summary>Reports on the featurizing thread (not posted, as <see cref="Progress{T}"/> would).</summary>
    private sealed class Progress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
