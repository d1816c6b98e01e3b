// The processes of tests/GoodTransfer.ML.Orleans.Tests, started on 127.0.0.1 and killed with SIGKILL by them:
//   silo --redis HOST:PORT --cluster ID --silo-port P --gateway-port G
//        prints "ready <silo address> <pid>" once the silo has joined, then runs until it is killed or stdin closes.
//   job --redis HOST:PORT --cluster ID --checkpoint FILE --list FILE --out DIR [--cache DIR] [--images-per-batch N] [--cpu-threads N]
//        featurizes the images listed in FILE (one path a line, "path<TAB>label" for a label) and prints one line per
//        event: "event <Event> batch <I> silo <S> done <D>/<N> skipped <K> retries <R> t <seconds> reason <...>",
//        then "finished run <R> skipped <K> retries <X>", or "error <type>: <message>" and exit code 1.
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

    // Until the test closes standard input (or kills the process).
    await Task.Run(() => Console.In.ReadToEnd());
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
        return 0;
    }
    catch (FeaturizationJobException exception)
    {
        Console.WriteLine($"error {exception.GetType().Name}: {exception.Message}");
        return 1;
    }
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
