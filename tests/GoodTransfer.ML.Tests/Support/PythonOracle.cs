using System.Diagnostics;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// Real PyTorch and ONNX, run as a child process: the oracle for the tests that need a full-size
/// model. These tests fail (never skip) when the oracle is missing: .ci/run installs it with
/// <c>apt-get install python3-torch python3-torchvision python3-onnx</c>.
/// </summary>
public static class PythonOracle
{
    private static readonly Lazy<string> Interpreter = new(Find);

    /// <summary>Runs a Python script or <c>-c</c> program and returns its standard output; fails the test on a non-zero exit.</summary>
    public static string Run(TimeSpan timeout, params string[] arguments)
    {
        var (code, output, error) = Execute(Interpreter.Value, arguments, timeout);
        Assert.True(code == 0, $"'{Interpreter.Value} {string.Join(' ', arguments)}' exited with {code}:\n{error}\n{output}");
        return output;
    }

    public static string FixtureScript(string name) => Path.Combine(FixtureManifest.FixtureDirectory, name);

    private static string Find()
    {
        var candidates = new[] { Environment.GetEnvironmentVariable("GOODTRANSFER_PYTHON"), "/usr/bin/python3", "python3" };
        foreach (var candidate in candidates.Where(c => !string.IsNullOrEmpty(c)))
        {
            try
            {
                var (code, _, _) = Execute(candidate!, ["-c", "import torch, torchvision, onnx"], TimeSpan.FromSeconds(60));
                if (code == 0)
                {
                    return candidate!;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under that name; try the next.
            }
        }

        Assert.Fail("This test needs real PyTorch as its oracle, and no python3 here can import torch, torchvision and onnx. " +
            "Install them with: apt-get install python3-torch python3-torchvision python3-onnx (or set GOODTRANSFER_PYTHON).");
        return string.Empty;
    }

    private static (int Code, string Output, string Error) Execute(string file, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{file} {string.Join(' ', arguments)}' did not finish within {timeout}.");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}
