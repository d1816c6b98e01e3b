using System.CommandLine;
using System.Net;
using GoodTransfer.ML.Cli.Console;
using GoodTransfer.ML.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary>
/// <c>goodtransfer silo --redis HOST:PORT</c>: an Orleans silo that featurizes batches for
/// <c>goodtransfer featurize --cluster redis=HOST:PORT</c> jobs (GoodTransfer.ML.Orleans), until Ctrl+C or SIGTERM.
/// </summary>
internal static class SiloCommand
{
    public const string DefaultClusterId = "goodtransfer";
    public const string DefaultServiceId = "goodtransfer";

    public static Command Create()
    {
        var redis = new Option<string>("--redis") { Description = "The Redis server that holds the cluster's membership table", Required = true, HelpName = "HOST:PORT" };
        var siloPort = new Option<int>("--silo-port") { Description = "The port silos talk to each other on", DefaultValueFactory = _ => 11111, HelpName = "P" };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "The port jobs connect to", DefaultValueFactory = _ => 30000, HelpName = "G" };
        var advertise = new Option<string?>("--advertise") { Description = "The address other machines reach this silo at [default: this host's address]", HelpName = "IP" };
        var clusterId = ClusterId();
        var serviceId = ServiceId();
        var concurrent = new Option<int>("--max-concurrent-batches") { Description = "Batches featurized at once (ONNX Runtime already uses every core for one)", DefaultValueFactory = _ => 1, HelpName = "N" };
        var command = new Command("silo", "Run an Orleans silo that featurizes batches for 'featurize --cluster redis=HOST:PORT' jobs, until Ctrl+C")
        {
            redis, siloPort, gatewayPort, advertise, clusterId, serviceId, concurrent,
        };
        command.SetAction(result => CommandRunner.Run(_ =>
        {
            IPAddress? address = null;
            if (result.GetValue(advertise) is { } text && !IPAddress.TryParse(text, out address))
            {
                throw CliFailure.BadInput($"--advertise: '{text}' is not an IP address");
            }

            if (result.GetValue(concurrent) < 1)
            {
                throw CliFailure.BadInput("--max-concurrent-batches must be at least 1");
            }

            // A job's own --cache-dir, --mirror and --offline travel with its batches; these are the silo's defaults for jobs without them.
            if (result.GetValue(CommonOptions.CacheDirectory) is { } cache)
            {
                Environment.SetEnvironmentVariable("GOODTRANSFER_HOME", Path.GetFullPath(cache));
            }

            if (result.GetValue(CommonOptions.Mirror) is { } mirror)
            {
                Environment.SetEnvironmentVariable("GOODTRANSFER_MIRROR", mirror);
            }

            if (result.GetValue(CommonOptions.Offline))
            {
                Environment.SetEnvironmentVariable("GOODTRANSFER_OFFLINE", "1");
            }

            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning).AddFilter("GoodTransfer", LogLevel.Information);
            builder.UseOrleans(silo =>
            {
                silo.UseRedisClustering(result.GetValue(redis)!)
                    .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (result.GetValue(clusterId)!, result.GetValue(serviceId)!))
                    .AddGoodTransferFeaturizer(o => o.MaxConcurrentBatches = result.GetValue(concurrent))
                    .UseFastFailureDetection();
                if (address is null)
                {
                    silo.ConfigureEndpoints(result.GetValue(siloPort), result.GetValue(gatewayPort));
                }
                else
                {
                    silo.ConfigureEndpoints(address, result.GetValue(siloPort), result.GetValue(gatewayPort), listenOnAnyHostAddress: true);
                }
            });
            using var host = builder.Build();
            host.Start();
            var silo = host.Services.GetRequiredService<global::Orleans.Runtime.ILocalSiloDetails>().SiloAddress;
            Terminal.Line($"Silo {silo.ToParsableString()} is in cluster {result.GetValue(clusterId)} (Redis {result.GetValue(redis)}); Ctrl+C stops it.");
            host.WaitForShutdown();
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Option<string> ClusterId() => new("--cluster-id") { Description = "Orleans' cluster id: silos and jobs of one cluster share it", DefaultValueFactory = _ => DefaultClusterId, HelpName = "ID" };

    public static Option<string> ServiceId() => new("--service-id") { Description = "Orleans' service id", DefaultValueFactory = _ => DefaultServiceId, HelpName = "ID" };
}
