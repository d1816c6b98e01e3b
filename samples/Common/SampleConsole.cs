using Microsoft.ML;
using Microsoft.ML.Runtime;
using Spectre.Console;
using Spectre.Console.Rendering;
using static System.FormattableString;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// The samples' two Spectre.Console consoles: <see cref="Results"/> on standard output, and
/// <see cref="Status"/> on standard error for progress, status lines and errors, so that standard output
/// holds only results. On a terminal they have colour and live progress bars. Redirected (a log file, a pipe,
/// CI, a test) Spectre writes no escape codes and shows progress as occasional percentage lines; a line
/// that says how each step ended always follows, and no line is wrapped.
/// </summary>
internal static class SampleConsole
{
    /// <summary>
    /// The width of a redirected console: wide enough that no line the samples write wraps (Spectre
    /// otherwise assumes 80 columns, which would break a long error line or a table in two).
    /// </summary>
    private const int RedirectedWidth = 1000;

    public static IAnsiConsole Results { get; } = Create(Console.Out, Console.IsOutputRedirected);

    public static IAnsiConsole Status { get; } = Create(Console.Error, Console.IsErrorRedirected);

    /// <summary>A line of plain text on standard error (never read as markup), above any progress bar that is drawn.</summary>
    public static void Line(string text) => Status.WriteLine(text);

    /// <summary>A failure's one line, <c>error: ...</c>, with "error:" in red on a terminal.</summary>
    public static void Error(string message) => Status.MarkupLine("[red]error:[/] " + Markup.Escape(message));

    /// <summary>
    /// Prints what GoodTransfer.ML tells ML.NET's log (download started, retried, finished; cache hits;
    /// conversions) and nothing of ML.NET's own messages.
    /// </summary>
    public static void FollowGoodTransferLog(MLContext mlContext) =>
        mlContext.Log += (_, e) =>
        {
            if (e.Source == "GoodTransfer" && e.Kind is ChannelMessageKind.Info or ChannelMessageKind.Warning or ChannelMessageKind.Error)
            {
                Line("  " + e.RawMessage);
            }
        };

    /// <summary>
    /// Runs <paramref name="work"/> while Spectre draws the bars of the tasks it adds, in these columns. The
    /// bars go when the work ends, as each step then writes a line that says how it ended (on a terminal, where
    /// a display with no bar would leave blank lines, and in a log, where Spectre's last percentage may be 80%).
    /// </summary>
    public static T WithProgress<T>(IEnumerable<ProgressColumn> columns, Func<ProgressContext, T> work) =>
        Status.Progress().AutoClear(true).Columns([.. columns]).Start(work);

    private static IAnsiConsole Create(TextWriter writer, bool redirected)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
        if (redirected)
        {
            console.Profile.Width = RedirectedWidth;
        }

        return console;
    }
}

/// <summary>A progress column: "120/300 images", the task's value of its maximum in whole units.</summary>
internal sealed class CountColumn(string unit) : ProgressColumn
{
    public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
        new Text(Invariant($"{task.Value:F0}/{task.MaxValue:F0} {unit}"));
}

/// <summary>A progress column: "23.4 images/s", the task's recent rate.</summary>
internal sealed class RateColumn(string unit) : ProgressColumn
{
    public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
        new Text(task.Speed is { } speed ? Invariant($"{speed:F1} {unit}/s") : string.Empty, new Style(Color.Grey));
}

/// <summary>
/// The download bars of checkpoints (<see cref="GoodTransferOptions.Progress"/>): one task per file in the
/// progress display that <see cref="ImageFeaturizer.Fit"/> opens, and a line when a file is complete.
/// Remembers which files sent bytes, which tells an unreachable network from a connection that broke.
/// Reports arrive on the thread that downloads.
/// </summary>
internal sealed class DownloadProgressBar : IProgress<DownloadProgress>
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, ProgressTask?> tasks = new(StringComparer.Ordinal);
    private readonly HashSet<string> finished = new(StringComparer.Ordinal);
    private ProgressContext? display;

    public static DownloadProgressBar Shared { get; } = new();

    /// <summary>The columns of a download bar: file, bar, percentage, megabytes, rate, time left.</summary>
    public static IEnumerable<ProgressColumn> Columns =>
        [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn()];

    /// <summary>Draws the bars of files that start downloading into <paramref name="context"/> until the result is disposed.</summary>
    public IDisposable ShowIn(ProgressContext context)
    {
        lock (gate)
        {
            display = context;
        }

        return new Detach(this);
    }

    /// <summary>Whether any byte of <paramref name="fileName"/> arrived in this process.</summary>
    public bool Received(string fileName)
    {
        lock (gate)
        {
            return tasks.ContainsKey(fileName);
        }
    }

    public void Report(DownloadProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (gate)
        {
            if (!tasks.TryGetValue(value.FileName, out var task))
            {
                task = display?.AddTask(Markup.Escape(value.FileName), autoStart: true, maxValue: value.TotalBytes ?? 1);
                tasks[value.FileName] = task;
            }

            var complete = value.TotalBytes is { } total && value.BytesDone >= total;
            if (task is not null)
            {
                task.IsIndeterminate = value.TotalBytes is null;
                task.MaxValue = value.TotalBytes ?? Math.Max(value.BytesDone, 1);
                task.Value = value.BytesDone;
            }

            // The downloader reports a complete file once more when it finishes; say so once.
            if (complete && finished.Add(value.FileName))
            {
                task?.StopTask();
                SampleConsole.Line(Invariant($"  Downloaded {value.FileName}: {value.BytesDone / 1e6:F1} MB at {value.BytesPerSecond / 1e6:F1} MB/s"));
            }
        }
    }

    private sealed class Detach(DownloadProgressBar bar) : IDisposable
    {
        public void Dispose()
        {
            lock (bar.gate)
            {
                bar.display = null;
            }
        }
    }
}
