using System.CommandLine;
using GoodTransfer.ML.Cli.Console;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary><c>goodtransfer export NAME|FILE.pth OUT.onnx</c>: a backbone as an ONNX featurizer file.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("BACKBONE") { Description = "A backbone name (see 'goodtransfer list'), or a PyTorch checkpoint file (.pth)", HelpName = "NAME|FILE.pth" };
        source.CompletionSources.Add(_ => CommonOptions.BackboneNames());
        var output = new Argument<string>("OUT") { Description = "The ONNX file to write (atomically)" };
        var layer = CommonOptions.Layer();
        var precision = CommonOptions.Precision(Precision.Float32, Precision.Float16, Precision.Int8);
        var calibration = new Option<string?>("--calibration-images")
        {
            Description = "For --precision Int8: a folder of images (or a text file listing them) like those to be featurized; the first 32 calibrate the model",
            HelpName = "INPUT",
        };
        var command = new Command("export", "Convert a backbone to an ONNX file: input 'image' [N,3,224,224] in [0,1], output 'features' [N,C]") { source, output, layer, precision, calibration };
        command.Validators.Add(c =>
        {
            // A --precision that did not parse has its own error; reading it here would throw.
            if (c.GetResult(precision) is { Tokens: [{ Value: var given }] } && Enum.TryParse<Precision>(given, ignoreCase: true, out var chosen) &&
                chosen == Precision.Int8 && c.GetValue(calibration) is null)
            {
                c.AddError("--precision Int8 needs --calibration-images: an export has no data of its own to calibrate on.");
            }
        });
        command.SetAction(result => CommandRunner.Run(downloads =>
        {
            var backbone = Backbones.NamedOrFile(result.GetValue(source)!);
            var options = CommonOptions.Library(result, downloads);
            options.FeatureLayer = result.GetValue(layer);
            options.Precision = result.GetValue(precision);
            if (result.GetValue(calibration) is { } images)
            {
                options.CalibrationImages = [.. FeaturizationPlan.ListImages(images).Take(32).Select(i => i.Path)];
            }

            OnnxExport export = null!;
            Terminal.Progress().Start(context =>
            {
                downloads.Context = context;
                export = backbone.ExportOnnx(result.GetValue(output)!, options);
                downloads.Complete(backbone.FileName);
            });
            Terminal.Line($"Wrote {export.OnnxPath}: {backbone.Name} ({export.Architecture}), {export.FeatureLayer}, {options.Precision}, {export.FeatureSize} features per image; checkpoint SHA-256 {export.CheckpointSha256}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
