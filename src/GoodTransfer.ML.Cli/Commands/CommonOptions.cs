using System.CommandLine;
using GoodTransfer.ML.Cli.Console;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary>
/// Options that several commands share, made fresh for each command that takes them, and the options every
/// command takes (<see cref="Global"/>): where the cache is, a mirror, offline mode.
/// </summary>
internal static class CommonOptions
{
    public static Option<string?> CacheDirectory { get; } = new("--cache-dir")
    {
        Description = "The checkpoint and ONNX cache folder [default: GOODTRANSFER_HOME, else ~/.cache/goodtransfer]",
        Recursive = true,
        HelpName = "DIR",
    };

    public static Option<string?> Mirror { get; } = new("--mirror")
    {
        Description = "A base URL that serves the paper's checkpoint file names [default: GOODTRANSFER_MIRROR, else the paper's server]",
        Recursive = true,
        HelpName = "URL",
    };

    public static Option<bool> Offline { get; } = new("--offline")
    {
        Description = "Never download: a checkpoint that is not cached is an error [default: GOODTRANSFER_OFFLINE]",
        Recursive = true,
    };

    /// <summary>The options of the root command, which every command inherits.</summary>
    public static IReadOnlyList<Option> Global => [CacheDirectory, Mirror, Offline];

    public static Option<FeatureLayer> Layer() => new("--layer")
    {
        Description = "Which stage's pooled output the features are: Layer1 to Layer4 (256 to 2048 floats for ResNet-50), or AllLayers (3840)",
        DefaultValueFactory = _ => FeatureLayer.Layer4,
    };

    public static Option<Precision> Precision(params Precision[] allowed)
    {
        var option = new Option<Precision>("--precision")
        {
            Description = $"The network's arithmetic: {string.Join(", ", allowed)}",
            DefaultValueFactory = _ => ML.Precision.Float32,
        };
        option.AcceptOnlyFromAmong([.. allowed.Select(p => p.ToString())]);
        return option;
    }

    public static Option<int> BatchSize() => new("--batch-size")
    {
        Description = "Images the network runs at once, 1 to 1024",
        DefaultValueFactory = _ => 8,
        Validators =
        {
            result =>
            {
                if (result.GetValueOrDefault<int>() is < 1 or > 1024)
                {
                    result.AddError("--batch-size must be from 1 to 1024.");
                }
            },
        },
    };

    /// <summary>The library's options for this command line: the global options, and what the command adds.</summary>
    public static GoodTransferOptions Library(ParseResult result, DownloadBars? progress = null) => new()
    {
        CacheDirectory = result.GetValue(CacheDirectory),
        MirrorUrl = result.GetValue(Mirror),
        Offline = result.GetValue(Offline) ? true : null,
        Progress = progress,
    };

    /// <summary>Completes a backbone name from the catalog.</summary>
    public static IEnumerable<string> BackboneNames() => Backbone.All.Select(b => b.Name);
}
