using System.CommandLine;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary>The one place the tool's commands are registered: each is one file under Commands/, with a <c>Create()</c> that builds it.</summary>
internal static class GoodTransferCommands
{
    public static RootCommand Root()
    {
        var root = new RootCommand(
            "goodtransfer: the ResNet-50 backbones of \"What Makes Instance Discrimination Good for Transfer Learning?\" (ICLR 2021) as image features.\n" +
            "Environment: GOODTRANSFER_HOME (the cache folder), GOODTRANSFER_MIRROR (a base URL serving the paper's file names), GOODTRANSFER_OFFLINE=1 (never download).\n" +
            "Exit codes: 0 done, 2 bad arguments or data, 3 a checkpoint could not be downloaded or read.");
        foreach (var option in CommonOptions.Global)
        {
            root.Options.Add(option);
        }

        foreach (var command in All())
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    private static IEnumerable<Command> All() =>
    [
        ListCommand.Create(),
        DownloadCommand.Create(),
        ExportCommand.Create(),
        FeaturizeCommand.Create(),
        CompareCommand.Create(),
        SiloCommand.Create(),
    ];
}
