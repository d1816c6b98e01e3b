using System.Diagnostics;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>What a run of the tool did: its exit code, standard output, standard error and time.</summary>
public sealed record CliRun(int ExitCode, string Output, string Error, TimeSpan Elapsed)
{
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
/// Runs the goodtransfer tool (built with the tests and linked beside them under cli/) as a user would: a
/// fresh process in its own working folder, with its own cache and no GoodTransfer environment but what the
/// test gives. Every run is bounded.
/// </summary>
public static class CliProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "cli", "goodtransfer.dll");

    /// <summary>The cache of runs in <paramref name="work"/>: empty until the tool fills it.</summary>
    public static string Cache(TemporaryFile work) => UserProcess.Cache(work);

    public static CliRun Run(IReadOnlyList<string> arguments, TemporaryFile work, IReadOnlyDictionary<string, string>? environment = null, Xunit.Abstractions.ITestOutputHelper? output = null)
    {
        var clock = Stopwatch.StartNew();
        using var process = Start(arguments, work, environment);
        var error = process.StandardError.ReadToEndAsync();
        var standardOutput = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"goodtransfer {string.Join(' ', arguments)} did not finish within 3 minutes:\n{standardOutput.Result}\n{error.Result}");
        }

        var run = new CliRun(process.ExitCode, standardOutput.Result, error.Result, clock.Elapsed);
        output?.WriteLine($"goodtransfer {string.Join(' ', arguments)}: {run}");
        return run;
    }

    /// <summary>Starts the tool with standard output and error redirected; the caller reads them and disposes the process.</summary>
    public static Process Start(IReadOnlyList<string> arguments, TemporaryFile work, IReadOnlyDictionary<string, string>? environment = null)
    {
        Assert.True(File.Exists(Dll), $"the tool was not built at {Dll}");
        return Process.Start(UserProcess.StartInfo(Dll, arguments, work, environment))!;
    }
}
