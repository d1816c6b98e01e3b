using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML;
using Microsoft.ML;
using Microsoft.ML.Data;

// Usage: GoodTransfer.ML.DisposeCheck <checkpoint> <cache folder> <threads> <dispose after ms> <image path>...
// Fits a featurizer on the checkpoint (converted once into the cache), starts the threads, half reading
// cursors over Transform and half predicting with PredictionEngines, each in a loop, and disposes the
// featurizer the given time after every thread has featurized a row. Each thread must then stop with the
// ObjectDisposedException that names the featurizer. Exit code 0: all did; 1: a thread failed otherwise
// (printed); 2: a thread did not stop. What the test is for is the exit code of a crash (139 for SIGSEGV).
var checkpoint = args[0];
var threadCount = int.Parse(args[2], CultureInfo.InvariantCulture);
var disposeAfter = TimeSpan.FromMilliseconds(int.Parse(args[3], CultureInfo.InvariantCulture));
var paths = args[4..];

var mlContext = new MLContext(seed: 1);

// Small batches, so that a cursor runs the network often; one thread per run, so that the threads' runs interleave.
var options = new GoodTransferOptions { CacheDirectory = args[1], BatchSize = 2, CpuThreads = 1 };
var rows = Enumerable.Repeat(paths, 4).SelectMany(p => p).Select(p => new PathRow { Path = p }).ToArray();
var data = mlContext.Data.LoadFromEnumerable(rows);
var backbone = Backbone.FromFile(checkpoint);
var featurizer = mlContext.Transforms.GoodTransferFeaturize(backbone, inputColumnName: nameof(PathRow.Path), options: options).Fit(data);
var expectedName = $"{nameof(GoodTransferTransformer)} ({backbone.Name})";

using var featurized = new CountdownEvent(threadCount);
var outcomes = new Exception?[threadCount];
var threads = Enumerable.Range(0, threadCount).Select(i => new Thread(() =>
{
    var first = true;
    void Featurized()
    {
        if (first)
        {
            first = false;
            featurized.Signal();
        }
    }

    try
    {
        if (i % 2 == 0)
        {
            ReadCursors(Featurized);
        }
        else
        {
            Predict(Featurized);
        }
    }
    catch (Exception e)
    {
        outcomes[i] = e;
    }
})
{ IsBackground = true, Name = $"{(i % 2 == 0 ? "cursor" : "prediction")} {i}" }).ToArray();

foreach (var thread in threads)
{
    thread.Start();
}

if (!featurized.Wait(TimeSpan.FromMinutes(1)))
{
    Console.Error.WriteLine("not every thread featurized a row within a minute");
    return 2;
}

Thread.Sleep(disposeAfter);
var disposing = Stopwatch.StartNew();
featurizer.Dispose();
var disposeTook = disposing.Elapsed;
featurizer.Dispose();

var failed = false;
for (var i = 0; i < threadCount; i++)
{
    if (!threads[i].Join(TimeSpan.FromMinutes(1)))
    {
        Console.Error.WriteLine($"{threads[i].Name} did not stop within a minute of Dispose");
        return 2;
    }

    if (outcomes[i] is not ObjectDisposedException disposed || disposed.ObjectName != expectedName)
    {
        Console.Error.WriteLine($"{threads[i].Name} stopped with {outcomes[i]?.ToString() ?? "no exception"}, not an ObjectDisposedException naming {expectedName}");
        failed = true;
    }
}

if (failed)
{
    return 1;
}

Console.WriteLine($"{threadCount} threads, disposed {disposeAfter.TotalMilliseconds} ms after each featurized a row; Dispose took {disposeTook.TotalMilliseconds:F0} ms");
Console.WriteLine($"{outcomes[0]!.GetType().Name}: {outcomes[0]!.Message.Split('\n')[0]}");
return 0;

// Featurizes every row with a new cursor over Transform, again and again, until a call throws.
void ReadCursors(Action featurized)
{
    var features = default(VBuffer<float>);
    while (true)
    {
        var output = featurizer.Transform(data);
        var column = output.Schema["Features"];
        using var cursor = output.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        while (cursor.MoveNext())
        {
            getter(ref features);
            featurized();
        }
    }
}

// Predicts a few rows with a new PredictionEngine, again and again, until a call throws. The engines do not
// own the featurizer: by default, disposing a PredictionEngine disposes its transformer.
void Predict(Action featurized)
{
    var engineOptions = new PredictionEngineOptions { OwnsTransformer = false };
    while (true)
    {
        using var engine = mlContext.Model.CreatePredictionEngine<PathRow, FeaturesRow>(featurizer, engineOptions);
        foreach (var row in rows.Take(4))
        {
            engine.Predict(row);
            featurized();
        }
    }
}

internal sealed class PathRow
{
    public string Path { get; set; } = string.Empty;
}

internal sealed class FeaturesRow
{
    public float[] Features { get; set; } = [];
}
