using Spectre.Console;

namespace GoodTransfer.ML.Cli.Console;

/// <summary>
/// Where the tool writes: results and progress on standard output through Spectre.Console (progress bars
/// only where it is a terminal), errors on standard error, one line each.
/// </summary>
internal static class Terminal
{
    /// <summary>Standard output. Redirected to a file or a pipe it is 160 columns wide, so that tables do not wrap in logs.</summary>
    public static IAnsiConsole Out { get; } = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(System.Console.Out),
    });

    static Terminal()
    {
        if (System.Console.IsOutputRedirected)
        {
            Out.Profile.Width = 160;
        }
    }

    /// <summary>A progress display with a description, a bar, a percentage and the time left: drawn on a terminal, silent in a log.</summary>
    public static Progress Progress() =>
        Out.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn());

    /// <summary>A plain line on standard output, never wrapped (a path or a hash stays whole in a log).</summary>
    public static void Line(string text) => System.Console.Out.WriteLine(text);

    /// <summary>A line on standard error.</summary>
    public static void Error(string text) => System.Console.Error.WriteLine(text);
}
