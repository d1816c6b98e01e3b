namespace GoodTransfer.ML.Samples;

/// <summary>
/// The paper's backbones by name, as a user types them (any case), and the words for their provenance in
/// the paper's tables: method, pretraining data, augmentations.
/// </summary>
internal static class BackboneNames
{
    /// <summary>The catalog entry named <paramref name="name"/>, in any case; an unknown name is a failure that lists the valid ones.</summary>
    public static Backbone Resolve(string name) =>
        Backbone.TryGet(name, out var backbone)
            ? backbone
            : throw SampleFailure.BadInput($"unknown backbone '{name.Trim()}'; the valid names are:", ValidNames());

    /// <summary>Every catalog entry, one a line: its name, method, data, augmentations and file.</summary>
    public static IReadOnlyList<string> ValidNames()
    {
        var width = Backbone.All.Max(b => b.Name.Length);
        return [.. Backbone.All.Select(b => $"  {b.Name.PadRight(width)}  {Method(b)}, {Data(b)}, augmentations {Augmentations(b)} ({b.FileName})")];
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
        PretrainingData.ImageNet10Percent => "ImageNet-10%",
        PretrainingData.ImageNet100 => "ImageNet-100",
        PretrainingData.Places => "Places",
        PretrainingData.CelebA => "CelebA",
        PretrainingData.Coco => "COCO",
        PretrainingData.Synthia => "Synthia",
        _ => "-",
    };

    /// <summary>The paper's letters (f = flip, r = resized crop, c = colour jitter, g = grayscale, b = blur), or "-" where the paper's page does not state them.</summary>
    public static string Augmentations(Backbone backbone)
    {
        if (backbone.Augmentations is not { } augmentations)
        {
            return "-";
        }

        (ML.Augmentations Flag, string Letter)[] letters =
        [
            (ML.Augmentations.HorizontalFlip, "f"),
            (ML.Augmentations.RandomResizedCrop, "r"),
            (ML.Augmentations.ColorJitter, "c"),
            (ML.Augmentations.RandomGrayscale, "g"),
            (ML.Augmentations.GaussianBlur, "b"),
        ];
        var stated = letters.Where(l => augmentations.HasFlag(l.Flag)).Select(l => l.Letter).ToList();
        return stated.Count == 0 ? "none" : string.Join(' ', stated);
    }
}
