using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace GoodTransfer.ML.Orleans.Tests.Support;

/// <summary>
/// Debian's redis-server (scripts/test.sh installs it) on a free port of 127.0.0.1, without persistence, for the
/// cluster's membership; killed on dispose. Fails loudly, never skips, when it is missing.
/// </summary>
public sealed class RedisServer : IDisposable
{
    public const string Program = "/usr/bin/redis-server";

    private readonly Process process;

    public RedisServer()
    {
        Assert.True(File.Exists(Program), $"{Program} is missing: apt-get install redis-server (the cluster tests keep Orleans' membership in it)");
        Port = FreePort();
        var start = new ProcessStartInfo(Program, ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (!Accepts(Port))
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                Dispose();
                Assert.Fail($"redis-server did not start on 127.0.0.1:{Port} within 30 s");
            }

            Thread.Sleep(50);
        }
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit(10_000);
        }

        process.Dispose();
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
