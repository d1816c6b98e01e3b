using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML;
using Microsoft.ML.OnnxRuntime;

// Converts a PyTorch ResNet checkpoint into an ONNX featurizer and runs it once.
//
//   dotnet run --project samples/ExportOnnx -- [checkpoint.pth] [out.onnx] [--layer Layer4|Layer1|Layer2|Layer3|AllLayers]
//
// With no checkpoint it converts a small MoCo v2 training checkpoint that ships with the tests,
// so the sample runs on a machine without internet.

var positional = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !args[i - 1].StartsWith("--", StringComparison.Ordinal))).ToArray();
var layerIndex = Array.IndexOf(args, "--layer");
var layer = layerIndex >= 0 && layerIndex + 1 < args.Length ? Enum.Parse<FeatureLayer>(args[layerIndex + 1], ignoreCase: true) : FeatureLayer.Layer4;
var checkpoint = positional.Length > 0 ? positional[0] : DefaultCheckpoint();
var onnxPath = positional.Length > 1 ? positional[1] : Path.ChangeExtension(Path.GetFileName(checkpoint), ".onnx");

try
{
    var clock = Stopwatch.StartNew();
    var export = Backbone.FromFile(checkpoint).ExportOnnx(onnxPath, new GoodTransferOptions { FeatureLayer = layer });
    var convertSeconds = clock.Elapsed.TotalSeconds;

    Console.WriteLine($"Checkpoint:   {checkpoint}");
    Console.WriteLine($"  SHA-256:    {export.CheckpointSha256}");
    Console.WriteLine($"  weights in: {export.CheckpointLayout}");
    Console.WriteLine($"  left out:   {export.IgnoredKeys.Count} keys (heads, key encoder, queue, counters, training state)");
    Console.WriteLine($"Architecture: {export.Architecture}");
    Console.WriteLine($"ONNX model:   {export.OnnxPath} ({new FileInfo(export.OnnxPath).Length / 1e6:F1} MB) in {convertSeconds:F2} s");
    Console.WriteLine($"Features:     {export.FeatureLayer}, {export.FeatureSize} floats per image");

    // Run it once on a mid-grey image, as ONNX Runtime in any language would.
    using var session = new InferenceSession(export.OnnxPath);
    var pixels = Enumerable.Repeat(0.5f, 3 * 224 * 224).ToArray();
    using var input = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, 224, 224]);
    using var runOptions = new RunOptions();
    using var outputs = session.Run(runOptions, ["image"], [input], ["features"]);
    var features = outputs[0].GetTensorDataAsSpan<float>();
    var preview = string.Join(", ", features[..Math.Min(5, features.Length)].ToArray().Select(f => f.ToString("F4", CultureInfo.InvariantCulture)));
    Console.WriteLine($"Grey image -> [{preview}, ...] ({features.Length} values)");
    return 0;
}
catch (CheckpointFormatException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
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
