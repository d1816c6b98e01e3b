using System.Diagnostics;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Samples;

/// <summary>What a sample's process did: its exit code, standard output (results), standard error (progress and errors) and time.</summary>
public sealed record SampleRun(int ExitCode, string Output, string Error, TimeSpan Elapsed)
{
    public IReadOnlyList<string> OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();

    public IReadOnlyList<string> ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();

    /// <summary>
    /// The cells of the rows of a table that Spectre.Console drew (with box-drawing or Markdown borders) among
    /// <paramref name="lines"/>, trimmed, header first; border lines are left out.
    /// </summary>
    public static List<string[]> TableRows(IEnumerable<string> lines) =>
        [.. lines
            .Select(l => l.Trim())
            .Where(l => l.Length > 1 && (l[0] == '│' || (l[0] == '|' && !l.All(c => c is '|' or '-' or ':' or ' '))))
            .Select(l => l[1..^1].Split(l[0]).Select(c => c.Trim()).ToArray())];

    /// <summary>The one "error: ..." line of standard error; asserts that there is exactly one and no stack trace.</summary>
    public string SingleError()
    {
        var lines = Error.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        return Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
    }

    public override string ToString() => $"exit code {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout ---\n{Output}\n--- stderr ---\n{Error}";
}

/// <summary>
/// Runs a sample (built with the tests and linked beside them under samples/) as a user would: a fresh
/// process, its own working folder, its own cache, and no GoodTransfer environment but what the test gives.
/// </summary>
public static class SampleProcess
{
    public static string Folder(string sample) => Path.Combine(AppContext.BaseDirectory, "samples", sample);

    /// <summary>The data set that ships with the samples, as the sample finds it beside itself.</summary>
    public static string DefaultData(string sample) => Path.Combine(Folder(sample), "data", "fashion-mnist");

    /// <summary>The environment of a machine that never touches the network.</summary>
    public static IReadOnlyDictionary<string, string> Offline { get; } = new Dictionary<string, string> { ["GOODTRANSFER_OFFLINE"] = "1" };

    /// <summary>The environment that makes a sample download from <paramref name="baseUrl"/> instead of the paper's host.</summary>
    public static IReadOnlyDictionary<string, string> MirrorAt(string baseUrl) => new Dictionary<string, string> { ["GOODTRANSFER_MIRROR"] = baseUrl };

    /// <summary>The cache folder of a run in <paramref name="work"/>: empty until the sample fills it.</summary>
    public static string Cache(TemporaryFile work) => UserProcess.Cache(work);

    /// <summary>Runs <paramref name="sample"/> in the folder <paramref name="work"/>, with the cache <see cref="Cache"/>, and logs what it printed.</summary>
    public static SampleRun Run(
        string sample,
        IReadOnlyList<string> arguments,
        TemporaryFile work,
        IReadOnlyDictionary<string, string>? environment = null,
        Xunit.Abstractions.ITestOutputHelper? output = null)
    {
        var dll = Path.Combine(Folder(sample), sample + ".dll");
        Assert.True(File.Exists(dll), $"the sample {sample} was not built at {dll}");
        var start = UserProcess.StartInfo(dll, arguments, work, environment);

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var standardOutput = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{sample} did not finish within 5 minutes:\n{standardOutput.Result}\n{error.Result}");
        }

        var run = new SampleRun(process.ExitCode, standardOutput.Result, error.Result, clock.Elapsed);
        output?.WriteLine($"{sample} {string.Join(' ', arguments)}: {run}");
        return run;
    }
}
