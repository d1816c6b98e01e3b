using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace GoodTransfer.ML.Service.Tests.Support;

/// <summary>
/// samples/ImageService as a real process: Kestrel on 127.0.0.1 at a port it picks, found in its
/// "Now listening on" line. Killed, with its children, on dispose.
/// </summary>
public sealed partial class ImageServiceProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly Process process;
    private readonly StringBuilder output = new();

    public ImageServiceProcess(string modelPath, params string[] settings)
    {
        var dll = Path.Combine(ServiceFixture.ImageServiceFolder, "ImageService.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"samples/ImageService is not built at {dll}: build this test project, which builds it.", dll);
        }

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ServiceFixture.ImageServiceFolder,
        };
        foreach (var argument in (string[])[dll, "--Model", modelPath, "--urls", "http://127.0.0.1:0", .. settings])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Seen(e.Data, listening);
        process.ErrorDataReceived += (_, e) => Seen(e.Data, listening);
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"ImageService exited ({process.ExitCode}) before listening:\n{Output}"));
        process.EnableRaisingEvents = true;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            BaseAddress = listening.Task.WaitAsync(StartTimeout).GetAwaiter().GetResult();
        }
        catch (TimeoutException)
        {
            Dispose();
            throw new TimeoutException($"ImageService did not listen within {StartTimeout.TotalSeconds} s:\n{Output}");
        }

        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public void Dispose()
    {
        Client?.Dispose();
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
            // Not started, or already gone.
        }

        process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();

    private void Seen(string? line, TaskCompletionSource<Uri> listening)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }

        if (ListeningLine().Match(line) is { Success: true } match)
        {
            listening.TrySetResult(new Uri(match.Groups[1].Value + "/"));
        }
    }
}
