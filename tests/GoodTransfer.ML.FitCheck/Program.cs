using System.Globalization;
using GoodTransfer.ML;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

// Usage:
//   GoodTransfer.ML.FitCheck fit <cache folder> <backbone> [--mirror <URL>] [--offline] [--save <model.zip>] [--predict] <image path>...
//     Fits GoodTransferFeaturize (a catalog backbone by name, or a checkpoint file) on the images in this
//     process, as any user's process would, and prints one line each: "log <kind>: <message>" for every
//     GoodTransfer message on MLContext.Log as it comes, "features: <floats>" for each image, then
//     "predicted: <floats>" for each image from a PredictionEngine with --predict; --save saves the model.
//     A failure prints "error <exception type>: <message>" (and "record: <path>" for an integrity error) and exits with 1.
//   GoodTransfer.ML.FitCheck hold-lock <lock file>
//     Holds a cache entry's lock as the library does (the lock file open with FileShare.None), prints "held",
//     and lets it go when a line arrives on stdin.
if (args[0] == "hold-lock")
{
    using (new FileStream(args[1], FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1))
    {
        Console.WriteLine("held");
        Console.ReadLine();
    }

    return 0;
}

var options = new GoodTransferOptions { CacheDirectory = args[1], Offline = args.Contains("--offline") };
var images = new List<string>();
string? savePath = null;
for (var i = 3; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--mirror":
            options.MirrorUrl = args[++i];
            break;
        case "--save":
            savePath = args[++i];
            break;
        case "--offline" or "--predict":
            break;
        default:
            images.Add(args[i]);
            break;
    }
}

var mlContext = new MLContext(seed: 1);
mlContext.Log += (_, e) =>
{
    if (e.Source == "GoodTransfer" && e.Kind is not ChannelMessageKind.Trace)
    {
        Console.WriteLine($"log {e.Kind.ToString().ToLowerInvariant()}: {e.RawMessage.ReplaceLineEndings(" ")}");
    }
};

try
{
    var backbone = File.Exists(args[2]) ? Backbone.FromFile(args[2]) : Backbone.Get(args[2]);
    var data = mlContext.Data.LoadFromEnumerable(images.Select(p => new PathRow { Path = p }).ToArray());
    using var model = mlContext.Transforms.GoodTransferFeaturize(backbone, inputColumnName: "Path", options: options).Fit(data);
    var output = model.Transform(data);
    var column = output.Schema["Features"];
    using (var cursor = output.GetRowCursor([column]))
    {
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var features = default(VBuffer<float>);
        while (cursor.MoveNext())
        {
            getter(ref features);
            Console.WriteLine("features: " + Floats(features.DenseValues()));
        }
    }

    if (savePath is not null)
    {
        mlContext.Model.Save(model, data.Schema, savePath);
    }

    if (args.Contains("--predict"))
    {
        using var engine = mlContext.Model.CreatePredictionEngine<PathRow, FeatureRow>(model);
        foreach (var image in images)
        {
            Console.WriteLine("predicted: " + Floats(engine.Predict(new PathRow { Path = image }).Features));
        }
    }

    return 0;
}
catch (Exception e)
{
    Console.WriteLine($"error {e.GetType().FullName}: {e.Message.ReplaceLineEndings(" ")}");
    if (e is CheckpointIntegrityException integrity)
    {
        Console.WriteLine($"record: {integrity.RecordPath}");
    }

    return 1;
}

static string Floats(IEnumerable<float> values) => string.Join(',', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

internal sealed class PathRow
{
    public string Path { get; set; } = string.Empty;
}

internal sealed class FeatureRow
{
    public float[] Features { get; set; } = [];
}
