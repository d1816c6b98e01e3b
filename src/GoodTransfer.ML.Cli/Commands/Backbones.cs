using GoodTransfer.ML.Cli.Console;

namespace GoodTransfer.ML.Cli.Commands;

/// <summary>Backbones as the user names them on the command line, and the words the tool describes them in.</summary>
internal static class Backbones
{
    /// <summary>A catalog backbone by name, in any case; an unknown name is bad input listing the valid ones.</summary>
    public static Backbone Named(string name) =>
        Backbone.TryGet(name.Trim(), out var backbone)
            ? backbone
            : throw CliFailure.BadInput($"unknown backbone '{name.Trim()}'; run 'goodtransfer list' for the 24 names", [$"valid names: {string.Join(", ", Backbone.All.Select(b => b.Name))}"]);

    /// <summary>A catalog name, or a local checkpoint file (a name ending in .pth or .pt, or any file that exists).</summary>
    public static Backbone NamedOrFile(string text)
    {
        var trimmed = text.Trim();
        if (Backbone.TryGet(trimmed, out var backbone))
        {
            return backbone;
        }

        if (File.Exists(trimmed))
        {
            return Backbone.FromFile(trimmed);
        }

        if (Path.GetExtension(trimmed) is ".pth" or ".pt" or ".tar")
        {
            throw CliFailure.Checkpoint($"checkpoint file '{Path.GetFullPath(trimmed)}' does not exist");
        }

        return Named(trimmed);
    }

    public static string Method(Backbone backbone) => backbone.Method switch
    {
        PretrainingMethod.MocoV2 => "MoCo v2",
        PretrainingMethod.Supervised => "supervised",
        PretrainingMethod.Exemplar => "exemplar",
        _ => "-",
    };

    public static string Data(Backbone backbone) => backbone.Data switch
    {
        PretrainingData.ImageNet => "ImageNet",
        PretrainingData.ImageNet10Percent => "ImageNet 10%",
        PretrainingData.ImageNet100 => "ImageNet-100",
        PretrainingData.Places => "Places",
        PretrainingData.CelebA => "CelebA",
        PretrainingData.Coco => "COCO",
        PretrainingData.Synthia => "Synthia",
        _ => "-",
    };

    /// <summary>The augmentations by name, joined with "+", "none", or "-" where the paper's page does not say.</summary>
    public static string Augmentations(Backbone backbone)
    {
        if (backbone.Augmentations is not { } stated)
        {
            return "-";
        }

        (ML.Augmentations Flag, string Name)[] names =
        [
            (ML.Augmentations.HorizontalFlip, "flip"),
            (ML.Augmentations.RandomResizedCrop, "crop"),
            (ML.Augmentations.ColorJitter, "color"),
            (ML.Augmentations.RandomGrayscale, "gray"),
            (ML.Augmentations.GaussianBlur, "blur"),
        ];
        var used = names.Where(n => stated.HasFlag(n.Flag)).Select(n => n.Name).ToList();
        return used.Count == 0 ? "none" : string.Join('+', used);
    }

    public static string PaperTables(Backbone backbone) => backbone.PaperTables.Count == 0 ? "-" : string.Join(", ", backbone.PaperTables);
}
