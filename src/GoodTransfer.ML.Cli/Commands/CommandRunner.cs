using GoodTransfer.ML.Cli.Console;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary>Runs a command's body and turns the failures a user can fix into one <c>error: </c> line and an exit code; anything unexpected keeps its stack trace.</summary>
internal static class CommandRunner
{
    /// <param name="body">The command; given the download bars its library calls report to, it returns the exit code.</param>
    public static int Run(Func<DownloadBars, int> body)
    {
        var downloads = new DownloadBars();
        try
        {
            return body(downloads);
        }
        catch (Exception e) when (Failures.Explain(e, downloads) is { } failure)
        {
            Terminal.Error("error: " + failure.Message);
            foreach (var line in failure.Advice)
            {
                Terminal.Error(line);
            }

            return failure.ExitCode;
        }
    }
}
