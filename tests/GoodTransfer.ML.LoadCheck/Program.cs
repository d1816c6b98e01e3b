using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

// Usage: GoodTransfer.ML.LoadCheck <model.zip> <features column> <image path>...
// Loads the model in this fresh process, featurizes the images given as paths (column "Path"),
// and prints one line of comma-separated floats per image.
var mlContext = new MLContext(seed: 1);
var model = mlContext.Model.Load(args[0], out _);
var rows = args.Skip(2).Select(p => new PathRow { Path = p }).ToArray();
var data = mlContext.Data.LoadFromEnumerable(rows);
var output = model.Transform(data);
var column = output.Schema[args[1]];
using var cursor = output.GetRowCursor([column]);
var getter = cursor.GetGetter<VBuffer<float>>(column);
var features = default(VBuffer<float>);
while (cursor.MoveNext())
{
    getter(ref features);
    Console.WriteLine(string.Join(',', features.DenseValues().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
}

internal sealed class PathRow
{
    public string Path { get; set; } = string.Empty;
}
