using System.Diagnostics;
using System.Text;
using Xunit.Sdk;

namespace GoodTransfer.ML.PackageTests.Support;

/// <summary>What a command printed (stdout and stderr interleaved, as a terminal shows them) and how it ended.</summary>
public sealed record CommandResult(string Command, int ExitCode, string Output, TimeSpan Elapsed)
{
    /// <summary>Throws, with the whole output, unless the command exited with 0.</summary>
    public CommandResult Succeeded()
    {
        if (ExitCode != 0)
        {
            throw new XunitException($"'{Command}' exited with {ExitCode} after {Elapsed.TotalSeconds:F1} s:\n{Output}");
        }

        return this;
    }
}

/// <summary>
/// Runs git and the dotnet CLI as a user would from a terminal, in a clean environment: the MSBuild variables
/// that the test run itself inherited are removed, and no MSBuild node or compiler server outlives the command
/// (they would hold its output pipes open, and they are processes the tests would leave behind).
/// </summary>
public static class Command
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The dotnet host that runs these tests, so the fresh projects use the same SDK.</summary>
    public static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public static CommandResult Dotnet(string workingDirectory, params string[] arguments) =>
        Run(DotnetHost, arguments, workingDirectory, environment: null, DefaultTimeout);

    public static CommandResult Dotnet(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Run(DotnetHost, arguments, workingDirectory, environment, DefaultTimeout);

    public static CommandResult Git(string workingDirectory, params string[] arguments) =>
        Run("git", arguments, workingDirectory, environment: null, DefaultTimeout);

    public static CommandResult Run(string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["UseSharedCompilation"] = "false";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var text = $"{Path.GetFileName(fileName)} {string.Join(' ', start.ArgumentList)}";
        var output = new StringBuilder();
        void Append(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        }

        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new XunitException($"'{text}' in {workingDirectory} did not finish in {timeout.TotalSeconds:F0} s:\n{output}");
        }

        // Waits for the end of both output streams.
        process.WaitForExit();
        lock (output)
        {
            return new CommandResult(text, process.ExitCode, output.ToString(), clock.Elapsed);
        }
    }
}
