using System.CommandLine;
using System.CommandLine.Invocation;
using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML;
using Microsoft.ML.OnnxRuntime;
using Spectre.Console;

// Converts a PyTorch ResNet checkpoint into an ONNX featurizer and runs it once.
//
//   dotnet run --project samples/ExportOnnx -- [checkpoint.pth] [out.onnx] [--layer Layer4|Layer1|Layer2|Layer3|AllLayers]
//
// With no checkpoint it converts a small MoCo v2 training checkpoint that ships with the tests,
// so the sample runs on a machine without internet.

var checkpointArgument = new Argument<FileInfo>("checkpoint")
{
    Description = "A PyTorch ResNet checkpoint (.pth) [default: the small MoCo v2 checkpoint that ships with the tests]",
    Arity = ArgumentArity.ZeroOrOne,
}.AcceptExistingOnly();
var outArgument = new Argument<string?>("out.onnx")
{
    Description = "Where to write the ONNX model [default: the checkpoint's name with .onnx, in the current folder]",
    Arity = ArgumentArity.ZeroOrOne,
};
var layerOption = new Option<FeatureLayer>("--layer")
{
    Description = "Which features the model outputs",
    DefaultValueFactory = _ => FeatureLayer.Layer4,
};
var command = new RootCommand("ExportOnnx: converts a PyTorch ResNet checkpoint into an ONNX featurizer and runs it once on a grey image.")
{
    checkpointArgument,
    outArgument,
    layerOption,
};
command.SetAction(result =>
{
    var checkpoint = result.GetValue(checkpointArgument)?.FullName ?? DefaultCheckpoint();
    var onnxPath = result.GetValue(outArgument) ?? Path.ChangeExtension(Path.GetFileName(checkpoint), ".onnx");
    try
    {
        return Export(checkpoint, onnxPath, result.GetValue(layerOption));
    }
    catch (CheckpointFormatException e)
    {
        Console.Error.WriteLine("error: " + e.Message);
        return 2;
    }
});

var parsed = command.Parse(args);
if (parsed.Action is ParseErrorAction)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine("error: " + error.Message);
    }

    Console.Error.WriteLine("Run with --help to see the arguments.");
    return 2;
}

return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

static int Export(string checkpoint, string onnxPath, FeatureLayer layer)
{
    var clock = Stopwatch.StartNew();
    var export = Backbone.FromFile(checkpoint).ExportOnnx(onnxPath, new GoodTransferOptions { FeatureLayer = layer });
    var convertSeconds = clock.Elapsed.TotalSeconds;

    // Run it once on a mid-grey image, as ONNX Runtime in any language would.
    using var session = new InferenceSession(export.OnnxPath);
    var pixels = Enumerable.Repeat(0.5f, 3 * 224 * 224).ToArray();
    using var input = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, 224, 224]);
    using var runOptions = new RunOptions();
    using var outputs = session.Run(runOptions, ["image"], [input], ["features"]);
    var features = outputs[0].GetTensorDataAsSpan<float>();
    var preview = string.Join(", ", features[..Math.Min(5, features.Length)].ToArray().Select(f => f.ToString("F4", CultureInfo.InvariantCulture)));

    var report = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
    void Row(string name, string value) => report.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), new Text(value));
    Row("Checkpoint", checkpoint);
    Row("  SHA-256", export.CheckpointSha256);
    Row("  weights in", export.CheckpointLayout.ToString());
    Row("  left out", $"{export.IgnoredKeys.Count} keys (heads, key encoder, queue, counters, training state)");
    Row("Architecture", export.Architecture.ToString());
    Row("ONNX model", FormattableString.Invariant($"{export.OnnxPath} ({new FileInfo(export.OnnxPath).Length / 1e6:F1} MB) in {convertSeconds:F2} s"));
    Row("Features", $"{export.FeatureLayer}, {export.FeatureSize} floats per image");
    Row("Grey image", $"[{preview}, ...] ({features.Length} values)");
    if (Console.IsOutputRedirected)
    {
        AnsiConsole.Console.Profile.Width = 1000;
    }

    AnsiConsole.Write(report);
    return 0;
}

static string DefaultCheckpoint()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        var candidate = Path.Combine(dir.FullName, "tests/GoodTransfer.ML.Tests/Fixtures/checkpoints/bottleneck_moco_v2.pth");
        if (File.Exists(candidate))
        {
            return candidate;
        }
    }

    throw new FileNotFoundException("No checkpoint given and the sample checkpoint of the tests was not found; pass a .pth file.");
}
