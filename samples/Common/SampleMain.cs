using System.CommandLine;
using System.CommandLine.Invocation;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// Parses a sample's command line and runs it, turning the failures a user can fix into one line on standard
/// error and an exit code (see <see cref="ExitCodes"/>). Anything unexpected keeps its stack trace.
/// </summary>
internal static class SampleMain
{
    private const string HelpAdvice = "Run with --help to see the options.";

    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="command"/> (whose action is the sample) and
    /// invokes it: --help prints the help and exits 0; each parse error is a line <c>error: ...</c> naming
    /// the argument, and the exit code is 2.
    /// </summary>
    /// <param name="command">The sample's command line, with its action set.</param>
    /// <param name="args">The arguments as the program got them.</param>
    /// <param name="localCheckpointOption">How this sample takes a checkpoint file that is already on disk, given the file's name: advice for a machine without internet.</param>
    public static int Run(RootCommand command, string[] args, Func<string, string> localCheckpointOption)
    {
        var parsed = command.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            foreach (var error in parsed.Errors)
            {
                SampleConsole.Error(error.Message);
            }

            SampleConsole.Line(HelpAdvice);
            return ExitCodes.BadInput;
        }

        try
        {
            // Without System.CommandLine's handler, which prints any exception with its stack trace, so that
            // the failures a user can fix reach the catch below.
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Explain(e, localCheckpointOption) is { } failure)
        {
            SampleConsole.Error(failure.Message);
            foreach (var line in failure.Advice)
            {
                SampleConsole.Line(line);
            }

            return failure.ExitCode;
        }
    }

    /// <summary>The failure a user can fix somewhere in <paramref name="thrown"/>'s chain (ML.NET's cursors wrap a row's exception in their own), or <see langword="null"/>.</summary>
    private static SampleFailure? Explain(Exception thrown, Func<string, string> localCheckpointOption)
    {
        for (var e = thrown; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SampleFailure failure:
                    return failure;
                case CheckpointDownloadException download:
                    return Download(download, localCheckpointOption);
                case CheckpointNotCachedException or CheckpointIntegrityException or CheckpointFormatException:
                    return SampleFailure.Checkpoint(e.Message);
                case InvalidImageException:
                    return SampleFailure.BadInput(e.Message);
                default:
                    break;
            }
        }

        return null;
    }

    /// <summary>
    /// An HTTP status names the URL and the status. No status and no byte received means the server was never
    /// reached: on a machine without internet that is the first thing a new user meets, so it says how to run
    /// without the paper's server instead. No other model is used in its place.
    /// </summary>
    /// <summary>A small ResNet trained on Fashion-MNIST, relative to the root of a clone of the repository.</summary>
    private const string RepositoryCheckpoint = "tests/GoodTransfer.ML.Tests/Onnx/Quantization/Fixtures/fashion_resnet.pth";

    private static SampleFailure Download(CheckpointDownloadException e, Func<string, string> localCheckpointOption)
    {
        var fileName = e.Url is { } url ? Path.GetFileName(url.AbsolutePath) : "the checkpoint";
        var mirror = Environment.GetEnvironmentVariable("GOODTRANSFER_MIRROR");
        var unreachable = e.StatusCode is null && e.InnerException is not CheckpointFormatException && !DownloadProgressBar.Shared.Received(fileName);
        if (!unreachable)
        {
            var fromMirror = string.IsNullOrEmpty(mirror) ? string.Empty : $" (GOODTRANSFER_MIRROR is {mirror}: check that it serves {fileName})";
            return SampleFailure.Checkpoint(e.Message + fromMirror);
        }

        // The library's message is "Cannot download checkpoint from URL: reason."; the reason is what this line adds.
        var prefix = $"Cannot download checkpoint from {e.Url}: ";
        var reason = e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..].TrimEnd('.') : e.Message;
        List<string> advice =
        [
            "To run without the paper's server, do one of these:",
            $"  - use a checkpoint file you already have: {localCheckpointOption(fileName)}",
            "  - download from a mirror that serves the paper's file names: set GOODTRANSFER_MIRROR=https://your.mirror/good_transfer/",
            $"  - copy {fileName} (and its .sha256) from a machine that has it in its cache into checkpoints/ under the cache folder",
            "    (GOODTRANSFER_HOME, by default ~/.cache/goodtransfer) and set GOODTRANSFER_OFFLINE=1",
        ];
        var shipped = localCheckpointOption(RepositoryCheckpoint);
        if (File.Exists(RepositoryCheckpoint) && shipped.EndsWith(RepositoryCheckpoint, StringComparison.Ordinal))
        {
            // Run from a clone of the repository: its tests ship a small ResNet trained on Fashion-MNIST.
            advice.Add($"  - or, to see the sample work now, use the small ResNet trained on Fashion-MNIST that the repository's tests ship: {shipped}");
        }

        return SampleFailure.Checkpoint(
            $"the network is unreachable: cannot download {fileName} from {e.Url} ({reason}). No other model is used in its place.",
            advice);
    }
}
