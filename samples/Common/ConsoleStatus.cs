using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using static System.FormattableString;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// Progress and status lines on standard error, so that standard output holds only results. On a terminal a
/// progress line is redrawn in place with <c>\r</c>; when standard error is redirected (a log file, a test)
/// progress is written as whole lines, at each quarter and at the end. Safe to call from any thread: downloads
/// report on the thread that downloads.
/// </summary>
internal static class ConsoleStatus
{
    private static readonly Lock Gate = new();
    private static readonly bool Interactive = !Console.IsErrorRedirected;
    private static int drawn;

    /// <summary>Writes a line that stays, after clearing a progress line drawn in place.</summary>
    public static void Line(string text)
    {
        lock (Gate)
        {
            ClearDrawn();
            Console.Error.WriteLine(text);
        }
    }

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

    /// <summary>Draws a bar: <c>[#########...........]</c>.</summary>
    public static string Bar(double fraction, int width = 24)
    {
        var full = (int)Math.Round(Math.Clamp(fraction, 0, 1) * width);
        return "[" + new string('#', full) + new string('.', width - full) + "]";
    }

    /// <summary>
    /// Shows progress: in place at most ten times a second on a terminal; otherwise as a line when
    /// <paramref name="fraction"/> crosses a quarter. <paramref name="final"/> text always stays.
    /// </summary>
    public static void Progress(ProgressLine line, string text, double fraction, bool final)
    {
        lock (Gate)
        {
            if (final)
            {
                ClearDrawn();
                Console.Error.WriteLine(text);
                return;
            }

            if (Interactive)
            {
                if (line.Throttle.Elapsed >= TimeSpan.FromMilliseconds(100) || drawn == 0)
                {
                    line.Throttle.Restart();
                    var padded = text.Length < drawn ? text.PadRight(drawn) : text;
                    Console.Error.Write("\r" + padded);
                    drawn = text.Length;
                }
            }
            else if ((int)(fraction * 4) > line.QuartersShown && fraction < 1)
            {
                line.QuartersShown = (int)(fraction * 4);
                Console.Error.WriteLine(text);
            }
        }
    }

    private static void ClearDrawn()
    {
        if (drawn > 0)
        {
            Console.Error.Write("\r" + new string(' ', drawn) + "\r");
            drawn = 0;
        }
    }
}

/// <summary>The state of one progress line: when it was last redrawn, and which quarters have been written as lines.</summary>
internal sealed class ProgressLine
{
    public Stopwatch Throttle { get; } = Stopwatch.StartNew();

    public int QuartersShown { get; set; }
}

/// <summary>
/// A console progress bar for checkpoint downloads (<see cref="GoodTransferOptions.Progress"/>): file, bar,
/// megabytes done and total, rate. Remembers which files sent bytes, which tells an unreachable network from
/// a connection that broke.
/// </summary>
internal sealed class DownloadProgressBar : IProgress<DownloadProgress>
{
    private readonly Dictionary<string, ProgressLine> lines = new(StringComparer.Ordinal);
    private readonly HashSet<string> finished = new(StringComparer.Ordinal);

    public static DownloadProgressBar Shared { get; } = new();

    /// <summary>Whether any byte of <paramref name="fileName"/> arrived in this process.</summary>
    public bool Received(string fileName)
    {
        lock (lines)
        {
            return lines.ContainsKey(fileName);
        }
    }

    public void Report(DownloadProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        ProgressLine line;
        lock (lines)
        {
            var complete = value.TotalBytes is { } total && value.BytesDone >= total;

            // The downloader reports a complete file once more when it finishes; show it once.
            if (complete && !finished.Add(value.FileName))
            {
                return;
            }

            if (!lines.TryGetValue(value.FileName, out line!))
            {
                line = new ProgressLine();
                lines[value.FileName] = line;
            }
        }

        var done = value.BytesDone / 1e6;
        var rate = value.BytesPerSecond / 1e6;
        if (value.TotalBytes is { } size and > 0)
        {
            var fraction = (double)value.BytesDone / size;
            var text = Invariant($"  {value.FileName} {ConsoleStatus.Bar(fraction)} {done,6:F1} of {size / 1e6:F1} MB  {rate,5:F1} MB/s");
            ConsoleStatus.Progress(line, text, fraction, final: value.BytesDone >= size);
        }
        else
        {
            ConsoleStatus.Progress(line, Invariant($"  {value.FileName} {done,6:F1} MB  {rate,5:F1} MB/s"), 0, final: false);
        }
    }
}
