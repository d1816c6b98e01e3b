// A new user's program for GoodTransfer.ML.Gpu, built by GoodTransfer.ML.PackageTests: featurizes the images named
// on the command line with Backbone.MocoV2ImageNet (from GOODTRANSFER_MIRROR) on the CPU, with GpuDeviceId = 0
// and FallbackToCpu = true, in float16 on GPU 0 with fallback, and with GpuDeviceId = 0 and FallbackToCpu = false,
// and prints what each gave: "<run> <file> <feature count> <features, comma-separated>", or
// "<run> error <type>: <message>"; "<run> device <GPU id or cpu>"; and GoodTransfer's warnings as "log warning <message>".
using System.Globalization;
using GoodTransfer.ML;
using Microsoft.ML;
using Microsoft.ML.Data;

var mlContext = new MLContext(seed: 1);
mlContext.Log += (_, e) =>
{
    if (e.Source == "GoodTransfer" && e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning)
    {
        Console.WriteLine($"log warning {e.RawMessage}");
    }
};
var data = mlContext.Data.LoadFromEnumerable(args.Select(path => new Row { Path = path }));

Featurize("cpu", new GoodTransferOptions());
Featurize("gpu-fallback", new GoodTransferOptions { GpuDeviceId = 0, FallbackToCpu = true });
Featurize("gpu-fp16", new GoodTransferOptions { GpuDeviceId = 0, Precision = Precision.Float16 });
Featurize("gpu-strict", new GoodTransferOptions { GpuDeviceId = 0, FallbackToCpu = false });

void Featurize(string run, GoodTransferOptions options)
{
    try
    {
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet, inputColumnName: "Path", options: options).Fit(data);
        Console.WriteLine($"{run} device {featurizer.GpuDeviceId?.ToString(CultureInfo.InvariantCulture) ?? "cpu"}");
        var paths = featurizer.Transform(data).GetColumn<string>("Path").ToList();
        var features = featurizer.Transform(data).GetColumn<float[]>("Features").ToList();
        for (var i = 0; i < paths.Count; i++)
        {
            Console.WriteLine($"{run} {Path.GetFileName(paths[i])} {features[i].Length} {string.Join(',', features[i].Select(f => f.ToString("R", CultureInfo.InvariantCulture)))}");
        }
    }
    catch (InvalidOperationException e)
    {
        Console.WriteLine($"{run} error {e.GetType().FullName}: {e.Message}");
    }
}

public sealed class Row
{
    public string Path { get; set; } = "";
}
