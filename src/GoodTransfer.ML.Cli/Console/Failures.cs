namespace GoodTransfer.ML.Cli.Console;

/// <summary>
/// Turns the exceptions a user can act on into <see cref="CliFailure"/>s: the checkpoint's (exit 3, with the
/// ways round a network that cannot be reached) and the input's (exit 2). Anything else keeps its stack trace.
/// </summary>
internal static class Failures
{
    /// <summary>The failure a user can fix somewhere in <paramref name="thrown"/>'s chain (ML.NET's cursors wrap a row's exception in their own), or <see langword="null"/>.</summary>
    /// <param name="thrown">What the command threw.</param>
    /// <param name="downloads">The command's downloads, to tell a server that was never reached from one that failed part way.</param>
    public static CliFailure? Explain(Exception thrown, DownloadBars downloads)
    {
        for (var e = thrown; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case CliFailure failure:
                    return failure;
                case CheckpointDownloadException download:
                    return Download(download, downloads);
                case CheckpointNotCachedException or CheckpointIntegrityException or CheckpointFormatException:
                    return CliFailure.Checkpoint(e.Message);
                case InvalidImageException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException:
                    return CliFailure.BadInput(e.Message);
                default:
                    break;
            }
        }

        return null;
    }

    /// <summary>
    /// An HTTP status names the URL and the status. No status and no byte received means the server was never
    /// reached, the first thing a user meets on a machine without internet: the line says so, and the advice
    /// says how to run without the paper's server. No other model is used in its place.
    /// </summary>
    private static CliFailure Download(CheckpointDownloadException e, DownloadBars downloads)
    {
        var fileName = e.Url is { } url ? Path.GetFileName(url.AbsolutePath) : "the checkpoint";
        var mirror = Environment.GetEnvironmentVariable("GOODTRANSFER_MIRROR");
        var unreachable = e.StatusCode is null && e.InnerException is not CheckpointFormatException && !downloads.Received(fileName);
        if (!unreachable)
        {
            var fromMirror = string.IsNullOrEmpty(mirror) ? string.Empty : $" (GOODTRANSFER_MIRROR is {mirror}: check that it serves {fileName})";
            return CliFailure.Checkpoint(e.Message + fromMirror);
        }

        // The library's message is "Cannot download checkpoint from URL: reason."; the reason is what this line adds.
        var prefix = $"Cannot download checkpoint from {e.Url}: ";
        var reason = e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..].TrimEnd('.') : e.Message;
        return CliFailure.Checkpoint(
            $"the network is unreachable: cannot download {fileName} from {e.Url} ({reason}). No other model is used in its place.",
            [
                "To run without the paper's server, do one of these:",
                $"  - use a checkpoint file you already have: --checkpoint {fileName} (featurize), or goodtransfer export {fileName} OUT.onnx",
                "  - download from a mirror that serves the paper's file names: set GOODTRANSFER_MIRROR=https://your.mirror/good_transfer/ (or --mirror)",
                $"  - run goodtransfer download {fileName} on a machine with internet, copy its cache folder's checkpoints/ here",
                "    (GOODTRANSFER_HOME, by default ~/.cache/goodtransfer) and set GOODTRANSFER_OFFLINE=1 (or --offline)",
            ]);
    }
}
