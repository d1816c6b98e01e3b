using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML;
using Microsoft.ML;
using Microsoft.ML.Data;

// The featurizer's own batch throughput, the load test's baseline: Transform over COUNT copies of IMAGE's bytes
// (a column of encoded bytes, batches of 8, as the service decodes a request's body), after a warm-up pass.
//
//   dotnet bench/loadtest/Baseline/bin/Release/net10.0/LoadTestBaseline.dll CHECKPOINT IMAGE COUNT
//
// Prints one line: "featurizer_images_per_second N". The cache is GOODTRANSFER_HOME's, as the service's model was made.
if (args.Length != 3 || !int.TryParse(args[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) || count < 1)
{
    Console.Error.WriteLine("usage: LoadTestBaseline CHECKPOINT IMAGE COUNT");
    return 2;
}

var mlContext = new MLContext(seed: 1);
var bytes = File.ReadAllBytes(args[1]);
IDataView Copies(int n) => mlContext.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(_ => new BytesRow { Bytes = bytes }).ToList());
using var featurizer = mlContext.Transforms.GoodTransferFeaturize(Backbone.FromFile(args[0]), inputColumnName: "Bytes").Fit(Copies(1));

double Pass(int n)
{
    var data = featurizer.Transform(Copies(n));
    var clock = Stopwatch.StartNew();
    using var cursor = data.GetRowCursor([data.Schema["Features"]]);
    var getter = cursor.GetGetter<VBuffer<float>>(data.Schema["Features"]);
    var value = default(VBuffer<float>);
    var rows = 0;
    while (cursor.MoveNext())
    {
        getter(ref value);
        rows++;
    }

    return rows / clock.Elapsed.TotalSeconds;
}

Pass(16);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"featurizer_images_per_second {Pass(count):F2}"));
return 0;

internal sealed class BytesRow
{
    [VectorType]
    public byte[] Bytes { get; set; } = [];
}
