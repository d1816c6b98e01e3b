using System.Diagnostics;
using System.Globalization;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// Runs tests/GoodTransfer.ML.FitCheck, which fits the featurizer in another process on the cache it is given
/// (through the public API, as a user's process would) and prints its GoodTransfer log and its features.
/// </summary>
public static class FitCheck
{
    /// <summary>Long enough for a 2-core machine busy with other builds; every wait on a check process is bounded by it.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>Starts <c>fit &lt;cache&gt; &lt;backbone&gt; [flags] &lt;images&gt;</c>, unprivileged where <paramref name="unprivileged"/> (see <see cref="Unprivileged"/>).</summary>
    public static Process StartFit(string cacheFolder, string backbone, IEnumerable<string> images, IEnumerable<string>? flags = null, bool unprivileged = false) =>
        Start(["fit", cacheFolder, backbone, .. flags ?? [], .. images], unprivileged);

    /// <summary>Fits in another process and returns what it printed, once it has exited.</summary>
    public static FitCheckOutput Fit(string cacheFolder, string backbone, IEnumerable<string> images, IEnumerable<string>? flags = null, bool unprivileged = false)
    {
        using var process = StartFit(cacheFolder, backbone, images, flags, unprivileged);
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the fit-check process did not finish within {Timeout}");
        }

        return new FitCheckOutput(process.ExitCode, output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries), error.Result);
    }

    /// <summary>Starts a process that holds the lock file <paramref name="lockPath"/> until a line arrives on its standard input; returns once it holds it.</summary>
    public static Process HoldLock(string lockPath)
    {
        var process = Start(["hold-lock", lockPath], unprivileged: false);
        var line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(Timeout) || line.Result != "held")
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the lock-holding process did not take {lockPath}: {process.StandardError.ReadToEnd()}");
        }

        return process;
    }

    private static Process Start(string[] arguments, bool unprivileged)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "fitcheck", "GoodTransfer.ML.FitCheck.dll");
        Assert.True(File.Exists(dll), $"the fit-check program was not built at {dll}");
        var start = unprivileged ? Unprivileged.StartInfo("dotnet", [dll, .. arguments]) : new ProcessStartInfo("dotnet", [dll, .. arguments]);
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;

        // Nothing the test environment sets may choose the cache, the mirror or offline mode for it.
        start.Environment.Remove("GOODTRANSFER_HOME");
        start.Environment.Remove("GOODTRANSFER_OFFLINE");
        start.Environment["GOODTRANSFER_MIRROR"] = "http://127.0.0.1:9/unreachable/";
        return Process.Start(start)!;
    }
}

/// <summary>What a fit-check process printed: its GoodTransfer log lines, the features of each image, or its error.</summary>
public sealed class FitCheckOutput(int exitCode, string[] lines, string error)
{
    public int ExitCode { get; } = exitCode;

    public IReadOnlyList<string> Lines { get; } = lines;

    public IReadOnlyList<string> Warnings => Strip("log warning: ");

    public IReadOnlyList<string> Infos => Strip("log info: ");

    /// <summary>Each image's features from the featurizer's own session (the batched model).</summary>
    public IReadOnlyList<float[]> Features => [.. Strip("features: ").Select(Parse)];

    /// <summary>Each image's features from a PredictionEngine (the one-image model).</summary>
    public IReadOnlyList<float[]> Predicted => [.. Strip("predicted: ").Select(Parse)];

    /// <summary>"&lt;exception type&gt;: &lt;message&gt;" when the fit failed.</summary>
    public string? Error => Strip("error ").SingleOrDefault();

    public string? RecordPath => Strip("record: ").SingleOrDefault();

    /// <summary>Fails the test, with everything the process wrote, unless it exited with 0.</summary>
    public FitCheckOutput Succeeded()
    {
        Assert.True(ExitCode == 0, $"the fit-check process failed ({ExitCode}):\n{string.Join('\n', Lines)}\n{error}");
        return this;
    }

    public override string ToString() => string.Join('\n', Lines) + '\n' + error;

    // "R" wrote the shortest string that parses back to the same float, so features compare bit for bit.
    private static float[] Parse(string line) => [.. line.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture))];

    private List<string> Strip(string prefix) => [.. Lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => l[prefix.Length..])];
}
