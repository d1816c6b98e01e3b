namespace GoodTransfer.ML.Cli.Console;

/// <summary>The tool's exit codes: the samples' convention.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Bad arguments, or input that cannot be used: a missing folder, no images, an undecodable image, a feature file in the way.</summary>
    public const int BadInput = 2;

    /// <summary>The checkpoint could not be had: no network, an HTTP error, a missing or broken file, offline without it.</summary>
    public const int CheckpointProblem = 3;
}

/// <summary>
/// A failure the user can fix: printed as one <c>error: </c> line on standard error (and, where it helps, a
/// few lines of advice after it) with an exit code, never with a stack trace.
/// </summary>
internal sealed class CliFailure(int exitCode, string message, IReadOnlyList<string>? advice = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>Lines printed after the message: how to fix it, or the valid choices.</summary>
    public IReadOnlyList<string> Advice { get; } = advice ?? [];

    public static CliFailure BadInput(string message, IReadOnlyList<string>? advice = null) => new(ExitCodes.BadInput, message, advice);

    public static CliFailure Checkpoint(string message, IReadOnlyList<string>? advice = null) => new(ExitCodes.CheckpointProblem, message, advice);
}
