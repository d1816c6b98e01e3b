// The processes of tests/GoodTransfer.ML.Orleans.Tests, started on 127.0.0.1 and killed with SIGKILL by them:
//   silo --redis HOST:PORT --cluster ID --silo-port P --gateway-port G
//        prints "ready <silo address> <pid>" once the silo has joined, then runs until it is killed or stdin closes
//        (with --until-killed 1, until it is killed).
//   job --redis HOST:PORT --cluster ID --checkpoint FILE --list FILE --out DIR [--cache DIR] [--images-per-batch N] [--cpu-threads N]
//        featurizes the images listed in FILE (one path a line, "path<TAB>label" for a label) and prints one line per
//        event: "event <Event> batch <I> silo <S> done <D>/<N> skipped <K> retries <R> t <seconds> reason <...>",
//        then "finished run <R> skipped <K> retries <X>" (and "seconds <S>" on stderr), or "error <type>: <message>" and exit code 1.
//   local --checkpoint FILE --list FILE [--cpu-threads N] [--cache DIR]
//        the baseline of bench/orleans: featurizes the same list in this one process, "local fit <s> images <n> seconds <s> cpu <s>".
//   ping --redis HOST:PORT --cluster ID [--count N]
//        the round trip of a grain call through a gateway, "ping calls <n> median_ms <m> p90_ms <p>".
using System.Globalization;
using System.Net;
using GoodTransfer.ML;
using GoodTransfer.ML.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

var arguments = Arguments.Parse(args.Skip(1));
var mode = args.FirstOrDefault();
return mode switch
{
    "silo" => await RunSilo(arguments),
    "job" => await RunJob(arguments),
    "local" => RunLocal(arguments),
    "ping" => await RunPing(arguments),
    _ => Usage(),
};

static async Task<int> RunSilo(Arguments arguments)
{
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
    builder.Logging.AddFilter("GoodTransfer", LogLevel.Information);
    builder.UseOrleans(silo => silo
        .UseRedisClustering(arguments["--redis"])
        .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (arguments["--cluster"], "goodtransfer-tests"))
        .ConfigureEndpoints(IPAddress.Loopback, arguments.Int("--silo-port"), arguments.Int("--gateway-port"))
        .AddGoodTransferFeaturizer()
        .UseFastFailureDetection());
    using var host = builder.Build();
    await host.StartAsync();
    var address = host.Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress;
    Console.WriteLine($"ready {address.ToParsableString()} {Environment.ProcessId}");

    // Until the test closes standard input (or kills the process); with "--until-killed 1", until killed.
    await (arguments.Optional("--until-killed") == "1" ? Task.Delay(Timeout.Infinite) : Task.Run(() => Console.In.ReadToEnd()));
    await host.StopAsync(TimeSpan.FromSeconds(10));
    return 0;
}

static async Task<int> RunJob(Arguments arguments)
{
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
    builder.UseOrleansClient(client => client
        .UseRedisClustering(arguments["--redis"])
        .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (arguments["--cluster"], "goodtransfer-tests"))
        .AddGoodTransferJobClient());
    using var host = builder.Build();
    await host.StartAsync();

    var images = File.ReadAllLines(arguments["--list"])
        .Where(line => line.Length > 0)
        .Select(line => line.Split('\t') is [var path, var label] ? new ImageEntry(path, label) : new ImageEntry(line))
        .ToList();
    var spec = FeaturizerSpec.For(
        Backbone.FromFile(arguments["--checkpoint"]),
        new GoodTransferOptions { CpuThreads = arguments.Int("--cpu-threads", 1), Offline = true, CacheDirectory = arguments.Optional("--cache") });
    var options = new FeaturizationJobOptions { ImagesPerBatch = arguments.Int("--images-per-batch", 16) };
    var job = new FeaturizationJob(host.Services.GetRequiredService<IClusterClient>(), spec, images, arguments["--out"], options);
    try
    {
        var result = await job.RunAsync(new LineProgress());
        Console.WriteLine($"finished run {result.BatchesRun} skipped {result.BatchesSkipped} retries {result.Retries}");
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seconds {result.Elapsed.TotalSeconds:F3}"));
        return 0;
    }
    catch (FeaturizationJobException exception)
    {
        Console.WriteLine($"error {exception.GetType().Name}: {exception.Message}");
        return 1;
    }
}

static int RunLocal(Arguments arguments)
{
    var mlContext = new Microsoft.ML.MLContext();
    var paths = File.ReadAllLines(arguments["--list"]).Where(line => line.Length > 0).Select(line => new PathRow { Path = line.Split('\t')[0] }).ToList();
    var options = new GoodTransferOptions { CpuThreads = arguments.Int("--cpu-threads", 1), Offline = true, CacheDirectory = arguments.Optional("--cache") };
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var data = mlContext.Data.LoadFromEnumerable(paths);
    using var featurizer = mlContext.Transforms.GoodTransferFeaturize(Backbone.FromFile(arguments["--checkpoint"]), "Features", "Path", options).Fit(data);
    var fit = clock.Elapsed.TotalSeconds;
    clock.Restart();
    var cpuBefore = Environment.CpuUsage.TotalTime;

    // With --images-per-batch, one Transform per batch of that many images, as a silo runs a job's batches.
    var perBatch = arguments.Int("--images-per-batch", paths.Count);
    var rows = 0;
    foreach (var batch in paths.Chunk(Math.Max(1, perBatch)))
    {
        var output = featurizer.Transform(mlContext.Data.LoadFromEnumerable(batch));
        var column = output.Schema["Features"];
        using var cursor = output.GetRowCursor([column]);
        var getter = cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(column);
        var value = default(Microsoft.ML.Data.VBuffer<float>);
        while (cursor.MoveNext())
        {
            getter(ref value);
            rows++;
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"local fit {fit:F3} images {rows} seconds {clock.Elapsed.TotalSeconds:F3} cpu {(Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds:F3}"));
    return 0;
}

static async Task<int> RunPing(Arguments arguments)
{
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.ClearProviders();
    builder.UseOrleansClient(client => client
        .UseRedisClustering(arguments["--redis"])
        .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (arguments["--cluster"], "goodtransfer-tests")));
    using var host = builder.Build();
    await host.StartAsync();
    var client = host.Services.GetRequiredService<IClusterClient>();
    var grain = client.GetGrain<IFeaturizerGrain>("ping");
    await grain.PingAsync(CancellationToken.None);
    var times = new List<double>();
    for (var i = 0; i < arguments.Int("--count", 200); i++)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await grain.PingAsync(CancellationToken.None);
        times.Add(clock.Elapsed.TotalMilliseconds);
    }

    times.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ping calls {times.Count} median_ms {times[times.Count / 2]:F3} p90_ms {times[times.Count * 9 / 10]:F3}"));
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("usage: GoodTransfer.ML.Orleans.ClusterCheck silo|job --redis HOST:PORT --cluster ID ...");
    return 2;
}

/// <summary>Writes each report at once, on the job's thread (Progress&lt;T&gt; would post it to the thread pool, out of order).</summary>
internal sealed class LineProgress : IProgress<FeaturizationProgress>
{
    public void Report(FeaturizationProgress value) => Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"event {value.Event} batch {value.Batch} silo {value.Silo ?? "-"} done {value.BatchesDone}/{value.BatchesTotal} skipped {value.BatchesSkipped} retries {value.Retries} t {value.Elapsed.TotalSeconds:F3} reason {value.Reason ?? "-"}"));
}

internal sealed class PathRow
{
    public string Path { get; set; } = string.Empty;
}

/// <summary>"--name value" pairs.</summary>
internal sealed class Arguments(Dictionary<string, string> values)
{
    public string this[string name] => values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"missing {name}");

    public static Arguments Parse(IEnumerable<string> args)
    {
        var list = args.ToList();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < list.Count; i += 2)
        {
            values[list[i]] = list[i + 1];
        }

        return new Arguments(values);
    }

    public string? Optional(string name) => values.GetValueOrDefault(name);

    public int Int(string name, int? fallback = null) =>
        values.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback ?? throw new ArgumentException($"missing {name}");
}
