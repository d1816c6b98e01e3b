using System.CommandLine.Help;
using GoodTransfer.ML.Cli.Commands;
using GoodTransfer.ML.Cli.Console;

// goodtransfer: list, download, export, featurize, compare. See 'goodtransfer --help' and README.md.
var parsed = GoodTransferCommands.Root().Parse(args);
if (parsed.Errors.Count > 0 && parsed.Action is not HelpAction)
{
    // System.CommandLine's own errors name the argument; the exit code is the samples' 2 for bad arguments, not its 1.
    foreach (var error in parsed.Errors)
    {
        // One line each: "Must be one of:" lists its choices on lines of their own.
        Terminal.Error("error: " + string.Join(' ', error.Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)));
    }

    var command = parsed.CommandResult.Command;
    Terminal.Error(command.Parents.Any() ? $"Run 'goodtransfer {command.Name} --help' for its usage." : "Run 'goodtransfer --help' for the commands.");
    return ExitCodes.BadInput;
}

return parsed.Invoke();
