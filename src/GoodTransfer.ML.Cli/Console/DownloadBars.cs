using System.Collections.Concurrent;
using Spectre.Console;

namespace GoodTransfer.ML.Cli.Console;

/// <summary>
/// The library's download progress as Spectre.Console progress bars, one per file, while a command's
/// <see cref="ProgressContext"/> is open; it remembers which files received bytes.
/// </summary>
internal sealed class DownloadBars : IProgress<DownloadProgress>
{
    private readonly ConcurrentDictionary<string, ProgressTask> bars = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> received = new(StringComparer.Ordinal);

    /// <summary>Where new bars go; none are drawn while it is null.</summary>
    public ProgressContext? Context { get; set; }

    /// <summary>Whether any byte of <paramref name="fileName"/> arrived: a download that failed part way reached its server.</summary>
    public bool Received(string fileName) => received.ContainsKey(fileName);

    public void Report(DownloadProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.BytesDone > 0)
        {
            received[value.FileName] = 0;
        }

        if (Context is not { } context)
        {
            return;
        }

        var bar = bars.GetOrAdd(value.FileName, name => context.AddTask($"Downloading {Markup.Escape(name)}", autoStart: true, maxValue: 1));
        if (value.TotalBytes is { } total and > 0)
        {
            bar.MaxValue = total;
        }
        else
        {
            bar.IsIndeterminate = true;
        }

        bar.Value = value.BytesDone;
    }

    /// <summary>Marks the bar of <paramref name="fileName"/> done, if it has one (a cached file has none).</summary>
    public void Complete(string fileName)
    {
        if (bars.TryGetValue(fileName, out var bar))
        {
            bar.IsIndeterminate = false;
            bar.Value = bar.MaxValue;
            bar.StopTask();
        }
    }
}
