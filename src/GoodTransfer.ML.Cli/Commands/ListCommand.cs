using System.CommandLine;
using GoodTransfer.ML.Cli.Console;
using Spectre.Console;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary><c>goodtransfer list</c>: the 24 backbones as a table, with whether each checkpoint is cached.</summary>
internal static class ListCommand
{
    public static Command Create()
    {
        var command = new Command("list", "List the paper's 24 backbones: name, checkpoint file, pretraining method, data and augmentations, the paper's tables, and whether the checkpoint is in the cache");
        command.SetAction(result => CommandRunner.Run(_ => Run(result)));
        return command;
    }

    private static int Run(ParseResult result)
    {
        var options = CommonOptions.Library(result);
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("name", "file", "method", "data", "augmentations", "paper table", "cached");
        var cached = 0;
        foreach (var backbone in Backbone.All)
        {
            var isCached = backbone.IsCheckpointCached(options);
            cached += isCached ? 1 : 0;
            table.AddRow(
                new Text(backbone.Name),
                new Text(backbone.FileName),
                new Text(Backbones.Method(backbone)),
                new Text(Backbones.Data(backbone)),
                new Text(Backbones.Augmentations(backbone)),
                new Text(Backbones.PaperTables(backbone)),
                new Text(isCached ? "yes" : "no"));
        }

        Terminal.Out.Write(table);
        var folder = Path.GetDirectoryName(Backbone.All[0].CheckpointCachePath(options));
        Terminal.Line($"{cached} of {Backbone.All.Count} checkpoints cached in {folder}");
        return ExitCodes.Ok;
    }
}
