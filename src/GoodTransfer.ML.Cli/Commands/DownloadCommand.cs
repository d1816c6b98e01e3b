using System.CommandLine;
using System.Globalization;
using GoodTransfer.ML.Cli.Console;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary><c>goodtransfer download NAME...|--all</c>: fetches checkpoints into the cache, to seed machines without internet.</summary>
internal static class DownloadCommand
{
    public static Command Create()
    {
        var names = new Argument<string[]>("NAME")
        {
            Description = "Backbones to download, by name (any case); see 'goodtransfer list'",
            Arity = ArgumentArity.ZeroOrMore,
            HelpName = "NAME",
        };
        names.CompletionSources.Add(_ => CommonOptions.BackboneNames());
        var all = new Option<bool>("--all") { Description = "Download all 24 backbones" };
        var command = new Command("download", "Download checkpoints into the cache, with a progress bar: seed a machine, then copy the cache folder or use it offline") { names, all };
        command.Validators.Add(c =>
        {
            var named = c.GetValue(names) ?? [];
            if (named.Length == 0 && !c.GetValue(all))
            {
                c.AddError("Name the backbones to download, or give --all.");
            }
            else if (named.Length > 0 && c.GetValue(all))
            {
                c.AddError("Give backbone names or --all, not both.");
            }
        });
        command.SetAction(result => CommandRunner.Run(downloads => Run(result, result.GetValue(all) ? Backbone.All : [.. (result.GetValue(names) ?? []).Select(Backbones.Named).Distinct()], downloads)));
        return command;
    }

    private static int Run(ParseResult result, IReadOnlyList<Backbone> backbones, DownloadBars downloads)
    {
        var options = CommonOptions.Library(result, downloads);
        var lines = new List<string>();
        Terminal.Progress().Start(context =>
        {
            downloads.Context = context;
            foreach (var backbone in backbones)
            {
                var wasCached = backbone.IsCheckpointCached(options);
                var checkpoint = backbone.DownloadCheckpoint(options);
                downloads.Complete(backbone.FileName);
                var size = new FileInfo(checkpoint.Path).Length / 1e6;
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{backbone.Name}: {(wasCached ? "already cached" : "downloaded")}, {checkpoint.Path} ({size:F1} MB, SHA-256 {checkpoint.Sha256})"));
            }
        });
        foreach (var line in lines)
        {
            Terminal.Line(line);
        }

        return ExitCodes.Ok;
    }
}
