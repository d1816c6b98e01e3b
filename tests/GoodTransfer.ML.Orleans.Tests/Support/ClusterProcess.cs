using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace GoodTransfer.ML.Orleans.Tests.Support;

/// <summary>
/// A process of tests/GoodTransfer.ML.Orleans.ClusterCheck (a silo or a job) whose output lines are kept, with
/// bounded waits for a line; killed with SIGKILL on dispose if it still runs.
/// </summary>
public sealed class ClusterProcess : IDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<(TimeSpan At, string Line)> lines = new();
    private readonly ConcurrentQueue<string> errors = new();
    private readonly Stopwatch clock;
    private readonly SemaphoreSlim arrived = new(0);

    private ClusterProcess(string name, IEnumerable<string> arguments, Stopwatch clock)
    {
        Name = name;
        this.clock = clock;
        var dll = Path.Combine(AppContext.BaseDirectory, "clustercheck", "GoodTransfer.ML.Orleans.ClusterCheck.dll");
        Assert.True(File.Exists(dll), $"the cluster-check program was not built at {dll}");
        var start = new ProcessStartInfo("dotnet", [dll, .. arguments])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("GOODTRANSFER_HOME");
        start.Environment["GOODTRANSFER_MIRROR"] = "http://127.0.0.1:9/unreachable/";
        process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lines.Enqueue((clock.Elapsed, e.Data));
                arrived.Release();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                errors.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    /// <summary>A silo's Orleans address (<c>127.0.0.1:port@generation</c>), from its "ready" line.</summary>
    public string? SiloAddress { get; private set; }

    /// <summary>When the silo's "ready" line arrived, on the test's clock.</summary>
    public TimeSpan ReadyAt { get; private set; }

    public int ProcessId => process.Id;

    public bool HasExited => process.HasExited;

    public IReadOnlyList<(TimeSpan At, string Line)> Lines => [.. lines];

    public static ClusterProcess StartSilo(string name, string redis, string cluster, Stopwatch clock) =>
        new(name, ["silo", "--redis", redis, "--cluster", cluster, "--silo-port", Port(), "--gateway-port", Port()], clock);

    public static ClusterProcess StartJob(string name, string redis, string cluster, string checkpoint, string list, string output, string cache, int imagesPerBatch, Stopwatch clock) =>
        new(name, ["job", "--redis", redis, "--cluster", cluster, "--checkpoint", checkpoint, "--list", list, "--out", output, "--cache", cache, "--images-per-batch", imagesPerBatch.ToString(CultureInfo.InvariantCulture)], clock);

    /// <summary>Waits for a silo's "ready" line.</summary>
    public ClusterProcess WaitUntilReady(TimeSpan timeout)
    {
        var ready = WaitFor(line => line.StartsWith("ready ", StringComparison.Ordinal), timeout, "its ready line");
        SiloAddress = ready.Split(' ')[1];
        ReadyAt = lines.First(l => l.Line == ready).At;
        return this;
    }

    /// <summary>Waits for a line that <paramref name="match"/> accepts (earlier lines count) and returns it; fails the test, with the process's output, past <paramref name="timeout"/>.</summary>
    public string WaitFor(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            foreach (var (_, line) in lines)
            {
                if (match(line))
                {
                    return line;
                }
            }

            if (process.HasExited && !arrived.Wait(200))
            {
                Assert.Fail($"{Name} exited ({process.ExitCode}) before {what}.\n{this}");
            }

            var left = timeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                Assert.Fail($"{Name} did not print {what} within {timeout.TotalSeconds:0} s.\n{this}");
            }

            arrived.Wait(left < TimeSpan.FromMilliseconds(500) ? left : TimeSpan.FromMilliseconds(500));
        }
    }

    /// <summary>Waits for the process to exit and returns its exit code; fails the test past <paramref name="timeout"/>.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            Assert.Fail($"{Name} did not exit within {timeout.TotalSeconds:0} s.\n{this}");
        }

        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>SIGKILL (<c>kill -9</c>): no shutdown, no goodbye to the cluster.</summary>
    public TimeSpan KillHard()
    {
        var at = clock.Elapsed;
        process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
        return at;
    }

    public override string ToString() =>
        $"--- {Name} stdout:\n{string.Join('\n', lines.Select(l => $"[{l.At.TotalSeconds:F2}] {l.Line}"))}\n--- {Name} stderr (last 40 lines):\n{string.Join('\n', errors.TakeLast(400))}";

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // It was never started or has gone already.
        }

        process.Dispose();
        arrived.Dispose();
    }

    private static string Port() => RedisServer.FreePort().ToString(CultureInfo.InvariantCulture);
}
