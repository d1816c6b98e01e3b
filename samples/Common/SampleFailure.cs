namespace GoodTransfer.ML.Samples;

/// <summary>The exit codes of the samples, the same in both.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Bad arguments, or a data folder that cannot be used: missing, empty, one class, an undecodable image.</summary>
    public const int BadInput = 2;

    /// <summary>The checkpoint could not be had: no network, an HTTP error, a missing or broken file, offline without it.</summary>
    public const int CheckpointProblem = 3;
}

/// <summary>
/// A failure the user can fix: printed as one line (and, where it helps, a few lines of advice after it)
/// with an exit code, never with a stack trace. Unexpected exceptions are not turned into these.
/// </summary>
internal sealed class SampleFailure(int exitCode, string message, IReadOnlyList<string>? advice = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>Lines printed after the message: how to fix it, or what the valid choices are.</summary>
    public IReadOnlyList<string> Advice { get; } = advice ?? [];

    public static SampleFailure BadInput(string message, IReadOnlyList<string>? advice = null) => new(ExitCodes.BadInput, message, advice);

    public static SampleFailure Checkpoint(string message, IReadOnlyList<string>? advice = null) => new(ExitCodes.CheckpointProblem, message, advice);
}
