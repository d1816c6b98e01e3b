using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit.Abstractions;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>Disposing the featurizer never crashes the process: calls in flight finish, later calls throw ObjectDisposedException.</summary>
public sealed class FeaturizerDisposeTests : IDisposable
{
    // Each trial is a process of its own: before the fix, 12 of 12 such trials died with SIGSEGV (exit code 139).
    private static readonly (int Threads, int DisposeAfterMs)[] Trials =
        [(4, 0), (8, 0), (16, 0), (4, 2), (8, 5), (16, 10), (4, 20), (8, 35), (16, 50), (4, 80), (8, 110), (16, 150), (4, 200), (8, 250), (16, 300), (8, 400)];

    private static readonly TimeSpan TrialLimit = TimeSpan.FromMinutes(2);

    private readonly MLContext mlContext = new(seed: 1);
    private readonly TemporaryFile cache = new("unused");
    private readonly ITestOutputHelper output;

    public FeaturizerDisposeTests(ITestOutputHelper output) => this.output = output;

    private static string ExpectedName => $"GoodTransferTransformer ({FeatureFixtures.Backbone.Name})";

    private static List<string> ImagePaths => FeatureFixtures.Manifest.Images.Where(i => i.MLImageExact).Select(i => i.FullPath).Take(4).ToList();

    private GoodTransferOptions Options => new() { CacheDirectory = cache.Folder, BatchSize = 2 };

    public void Dispose() => cache.Dispose();

    [Fact]
    public void Every_method_after_Dispose_throws_ObjectDisposedException_naming_the_transformer_and_Dispose_again_does_nothing()
    {
        var data = FeatureFixtures.Paths(mlContext, ImagePaths);
        var featurizer = Fit(data);
        featurizer.Dispose();

        using var saved = new MemoryStream();
        var thrown = new Dictionary<string, ObjectDisposedException>
        {
            ["Transform"] = Assert.Throws<ObjectDisposedException>(() => featurizer.Transform(data)),
            ["GetOutputSchema"] = Assert.Throws<ObjectDisposedException>(() => featurizer.GetOutputSchema(data.Schema)),
            ["GetRowToRowMapper"] = Assert.Throws<ObjectDisposedException>(() => featurizer.GetRowToRowMapper(data.Schema)),
            ["Save"] = Assert.Throws<ObjectDisposedException>(() => mlContext.Model.Save(featurizer, data.Schema, saved)),
            ["CreatePredictionEngine"] = Assert.Throws<ObjectDisposedException>(() => mlContext.Model.CreatePredictionEngine<FeatureFixtures.PathRow, FeaturesRow>(featurizer)),
        };
        featurizer.Dispose();

        Assert.All(thrown.Values, e =>
        {
            Assert.Equal(ExpectedName, e.ObjectName);
            Assert.Equal($"{ExpectedName} was disposed: its ONNX Runtime sessions are released.", e.Message.Split('\n')[0]);
        });
        Assert.Equal("Path", featurizer.InputColumnName);
        Assert.Null(featurizer.GpuDeviceId);
    }

    [Fact]
    public void A_cursor_made_before_Dispose_serves_its_batch_then_stops_at_the_next_with_ObjectDisposedException()
    {
        var data = FeatureFixtures.Paths(mlContext, ImagePaths);
        var featurizer = Fit(data);
        var expected = FeatureFixtures.Column(featurizer.Transform(data), "Features");
        var view = featurizer.Transform(data);
        var column = view.Schema["Features"];
        using var cursor = view.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var features = default(VBuffer<float>);
        Assert.True(cursor.MoveNext());

        featurizer.Dispose();

        // The second row is in the first batch (BatchSize = 2), featurized before Dispose.
        Assert.True(cursor.MoveNext());
        getter(ref features);
        Assert.Equal(expected[1], features.DenseValues().ToArray());
        var stopped = Assert.Throws<ObjectDisposedException>(() => cursor.MoveNext());
        var again = Assert.Throws<ObjectDisposedException>(() => cursor.MoveNext());
        var newCursor = Assert.Throws<ObjectDisposedException>(() => view.GetRowCursor([column]));
        Assert.Equal(ExpectedName, stopped.ObjectName);
        Assert.Equal(ExpectedName, again.ObjectName);
        Assert.Equal(ExpectedName, newCursor.ObjectName);
    }

    [Fact]
    public void A_PredictionEngine_made_before_Dispose_throws_ObjectDisposedException_and_can_still_be_disposed()
    {
        var data = FeatureFixtures.Paths(mlContext, ImagePaths);
        var featurizer = Fit(data);
        var engine = mlContext.Model.CreatePredictionEngine<FeatureFixtures.PathRow, FeaturesRow>(featurizer, new PredictionEngineOptions { OwnsTransformer = false });
        var row = new FeatureFixtures.PathRow { Path = ImagePaths[0] };
        Assert.NotEmpty(engine.Predict(row).Features);

        featurizer.Dispose();

        var thrown = Assert.Throws<ObjectDisposedException>(() => engine.Predict(row));
        Assert.Equal(ExpectedName, thrown.ObjectName);
        engine.Dispose();
    }

    [Fact]
    public async Task Dispose_from_inside_a_prediction_on_the_same_thread_lets_that_prediction_finish()
    {
        var data = FeatureFixtures.Paths(mlContext, ImagePaths);
        var featurizer = Fit(data);
        var expected = FeatureFixtures.Column(featurizer.Transform(data), "Features")[0];

        // Upstream of the featurizer, a mapping that disposes it: it runs inside the featurizer's own getter.
        var disposeOnRead = false;
        var upstream = mlContext.Transforms.CustomMapping<FeatureFixtures.PathRow, FeatureFixtures.PathRow>(
            (source, target) =>
            {
                target.Path = source.Path;
                if (disposeOnRead)
                {
                    featurizer.Dispose();
                }
            },
            contractName: null).Fit(data);
        var model = new TransformerChain<ITransformer>(upstream, featurizer);
        var engine = mlContext.Model.CreatePredictionEngine<FeatureFixtures.PathRow, FeaturesRow>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var row = new FeatureFixtures.PathRow { Path = ImagePaths[0] };
        disposeOnRead = true;

        var predicting = Task.Run(() => engine.Predict(row));

        Assert.True(await Task.WhenAny(predicting, Task.Delay(TimeSpan.FromMinutes(1))) == predicting, "Dispose from inside a prediction deadlocked");
        Assert.Equal(expected, (await predicting).Features);
        Assert.Throws<ObjectDisposedException>(() => engine.Predict(row));
    }

    [Fact]
    public void Dispose_while_threads_read_cursors_and_predict_never_crashes_the_process()
    {
        // The children find the converted model in the cache.
        Fit(FeatureFixtures.Paths(mlContext, ImagePaths)).Dispose();
        var failures = new List<string>();

        for (var trial = 0; trial < Trials.Length; trial++)
        {
            var (threads, disposeAfter) = Trials[trial];
            var name = $"trial {trial + 1} of {Trials.Length} ({threads} threads, Dispose {disposeAfter} ms after each featurized a row)";
            var (exited, exitCode, text) = RunDisposeCheck([FeatureFixtures.Backbone.CheckpointPath!, cache.Folder, threads.ToString(CultureInfo.InvariantCulture), disposeAfter.ToString(CultureInfo.InvariantCulture), .. ImagePaths]);
            output.WriteLine($"{name}: {(exited ? $"exit code {exitCode}" : "timed out")}: {text.Trim()}");
            if (!exited)
            {
                failures.Add($"{name} did not finish within {TrialLimit.TotalMinutes} minutes: {text}");
            }
            else if (exitCode != 0)
            {
                failures.Add($"{name} exited with {exitCode}{(exitCode == 139 ? " (SIGSEGV)" : string.Empty)}: {text}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private GoodTransferTransformer Fit(IDataView data) =>
        mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: Options).Fit(data);

    private static (bool Exited, int ExitCode, string Output) RunDisposeCheck(string[] arguments)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "disposecheck", "GoodTransfer.ML.DisposeCheck.dll");
        Assert.True(File.Exists(dll), $"the dispose-check program was not built at {dll}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["GOODTRANSFER_OFFLINE"] = "1";
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var standard = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TrialLimit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (false, -1, standard.Result + error.Result);
        }

        return (true, process.ExitCode, standard.Result + error.Result);
    }

    private sealed class FeaturesRow
    {
        public float[] Features { get; set; } = [];
    }
}
