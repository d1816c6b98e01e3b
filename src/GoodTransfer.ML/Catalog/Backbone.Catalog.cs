using System.Diagnostics.CodeAnalysis;

namespace GoodTransfer.ML;

// The paper's 24 published checkpoints, as data: one row each, in the order of the paper's page.
// https://github.com/nanxuanzhao/Good_transfer (README) lists the files under PaperBaseUrl.
public sealed partial class Backbone
{
    /// <summary>Where the paper's authors publish the checkpoints; each file name is appended to it.</summary>
    public const string PaperBaseUrl = "https://frontiers.blob.core.windows.net/pretraining/checkpoints/pil_pretrained_models/good_transfer/";

    private const ML.Augmentations F = ML.Augmentations.HorizontalFlip;
    private const ML.Augmentations Fr = F | ML.Augmentations.RandomResizedCrop;
    private const ML.Augmentations Frc = Fr | ML.Augmentations.ColorJitter;
    private const ML.Augmentations Frcg = Frc | ML.Augmentations.RandomGrayscale;
    private const ML.Augmentations Full = ML.Augmentations.FullRecipe;

    private static readonly Backbone[] Catalog =
    [
        // Table 1: MoCo v2 on ImageNet, augmentations added one at a time.
        Paper(nameof(MocoV2ImageNetFlip), "moco_v2_imagenet_aug_f.pth", PretrainingMethod.MocoV2, PretrainingData.ImageNet, F, 1),
        Paper(nameof(MocoV2ImageNetFlipCrop), "moco_v2_imagenet_aug_fr.pth", PretrainingMethod.MocoV2, PretrainingData.ImageNet, Fr, 1),
        Paper(nameof(MocoV2ImageNetFlipCropColor), "moco_v2_imagenet_aug_frc.pth", PretrainingMethod.MocoV2, PretrainingData.ImageNet, Frc, 1),
        Paper(nameof(MocoV2ImageNetFlipCropColorGray), "moco_v2_imagenet_aug_frcg.pth", PretrainingMethod.MocoV2, PretrainingData.ImageNet, Frcg, 1),
        Paper(nameof(MocoV2ImageNet), "moco_v2_imagenet.pth", PretrainingMethod.MocoV2, PretrainingData.ImageNet, Full, 1, 2),

        // Table 1: supervised on ImageNet, the same five steps.
        Paper(nameof(SupervisedImageNetFlip), "supervised_imagenet_aug_f.pth", PretrainingMethod.Supervised, PretrainingData.ImageNet, F, 1),
        Paper(nameof(SupervisedImageNetFlipCrop), "supervised_imagenet_aug_fr.pth", PretrainingMethod.Supervised, PretrainingData.ImageNet, Fr, 1),
        Paper(nameof(SupervisedImageNetFlipCropColor), "supervised_imagenet_aug_frc.pth", PretrainingMethod.Supervised, PretrainingData.ImageNet, Frc, 1),
        Paper(nameof(SupervisedImageNetFlipCropColorGray), "supervised_imagenet_aug_frcg.pth", PretrainingMethod.Supervised, PretrainingData.ImageNet, Frcg, 1),

        // The paper's page links Table 2's "Supervised, ImageNet" row to supervised_synthia.pth by
        // mistake; that row's backbone is this one.
        Paper(nameof(SupervisedImageNet), "supervised_imagenet.pth", PretrainingMethod.Supervised, PretrainingData.ImageNet, Full, 1, 2),

        // Table 2: MoCo v2 on other data (augmentations are not stated on the page).
        Paper(nameof(MocoV2ImageNet10Percent), "moco_v2_imagenet1over10.pth", PretrainingMethod.MocoV2, PretrainingData.ImageNet10Percent, null, 2),
        Paper(nameof(MocoV2ImageNet100), "moco_v2_imagenet100.pth", PretrainingMethod.MocoV2, PretrainingData.ImageNet100, null, 2),

        // "palces" is the published file name's own spelling.
        Paper(nameof(MocoV2Places), "moco_v2_palces.pth", PretrainingMethod.MocoV2, PretrainingData.Places, null, 2),
        Paper(nameof(MocoV2CelebA), "moco_v2_celeba.pth", PretrainingMethod.MocoV2, PretrainingData.CelebA, null, 2),
        Paper(nameof(MocoV2Coco), "moco_v2_coco.pth", PretrainingMethod.MocoV2, PretrainingData.Coco, null, 2),
        Paper(nameof(MocoV2Synthia), "moco_v2_synthia.pth", PretrainingMethod.MocoV2, PretrainingData.Synthia, null, 2),

        // Table 2: supervised on the same data.
        Paper(nameof(SupervisedImageNet10Percent), "supervised_imagenet1over10.pth", PretrainingMethod.Supervised, PretrainingData.ImageNet10Percent, null, 2),
        Paper(nameof(SupervisedImageNet100), "supervised_imagenet100.pth", PretrainingMethod.Supervised, PretrainingData.ImageNet100, null, 2),
        Paper(nameof(SupervisedPlaces), "supervised_places.pth", PretrainingMethod.Supervised, PretrainingData.Places, null, 2),
        Paper(nameof(SupervisedCelebA), "supervised_celeba.pth", PretrainingMethod.Supervised, PretrainingData.CelebA, null, 2),
        Paper(nameof(SupervisedCoco), "supervised_coco.pth", PretrainingMethod.Supervised, PretrainingData.Coco, null, 2),
        Paper(nameof(SupervisedSynthia), "supervised_synthia.pth", PretrainingMethod.Supervised, PretrainingData.Synthia, null, 2),

        // Table 3: exemplar-based supervised pretraining on ImageNet.
        Paper(nameof(ExemplarV1), "exemplar_v1.pth", PretrainingMethod.Exemplar, PretrainingData.ImageNet, null, 3),
        Paper(nameof(ExemplarV2), "exemplar_v2.pth", PretrainingMethod.Exemplar, PretrainingData.ImageNet, null, 3),
    ];

    /// <summary>All 24 backbones published with the paper, each once, in the order of the paper's page.</summary>
    public static IReadOnlyList<Backbone> All => Catalog;

    /// <summary>
    /// The catalog entry with the given name, as a user types it: one of the <see cref="Name"/>s of
    /// <see cref="All"/> (<c>MocoV2ImageNet</c>, <c>SupervisedPlaces</c>, ...) in any case, with white
    /// space around it ignored.
    /// </summary>
    /// <param name="name">The entry's name, e.g. <c>mocov2imagenet</c>.</param>
    /// <returns>The entry: the same instance as the property of that name.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// No entry has that name. The message lists the valid names, and suggests the closest one when it is
    /// at most three single-letter edits away ("Did you mean 'MocoV2ImageNet'?").
    /// </exception>
    public static Backbone Get(string name)
    {
        if (TryGet(name, out var backbone))
        {
            return backbone;
        }

        var trimmed = name.Trim();
        var suggestion = Closest(trimmed);
        throw new ArgumentException(
            $"Unknown backbone '{trimmed}'.{(suggestion is null ? string.Empty : $" Did you mean '{suggestion.Name}'?")} " +
            $"The valid names are: {string.Join(", ", Catalog.Select(b => b.Name))}.",
            nameof(name));
    }

    /// <summary>
    /// Finds the catalog entry with the given name as <see cref="Get"/> does (any case, white space around
    /// it ignored), without throwing for an unknown name.
    /// </summary>
    /// <param name="name">The entry's name, e.g. <c>MocoV2ImageNet</c>.</param>
    /// <param name="backbone">The entry, or <see langword="null"/> when no entry has that name.</param>
    /// <returns>Whether an entry has that name.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    public static bool TryGet(string name, [NotNullWhen(true)] out Backbone? backbone)
    {
        ArgumentNullException.ThrowIfNull(name);
        var trimmed = name.Trim();
        backbone = Array.Find(Catalog, b => string.Equals(b.Name, trimmed, StringComparison.OrdinalIgnoreCase));
        return backbone is not null;
    }

    /// <summary>MoCo v2 on ImageNet with the full augmentation recipe (<c>moco_v2_imagenet.pth</c>); Tables 1 and 2. The paper's headline backbone.</summary>
    public static Backbone MocoV2ImageNet => Entry(nameof(MocoV2ImageNet));

    /// <summary>MoCo v2 on ImageNet with horizontal flips only (<c>moco_v2_imagenet_aug_f.pth</c>); Table 1.</summary>
    public static Backbone MocoV2ImageNetFlip => Entry(nameof(MocoV2ImageNetFlip));

    /// <summary>MoCo v2 on ImageNet, + RandomResizedCrop (<c>moco_v2_imagenet_aug_fr.pth</c>); Table 1.</summary>
    public static Backbone MocoV2ImageNetFlipCrop => Entry(nameof(MocoV2ImageNetFlipCrop));

    /// <summary>MoCo v2 on ImageNet, + ColorJitter (<c>moco_v2_imagenet_aug_frc.pth</c>); Table 1.</summary>
    public static Backbone MocoV2ImageNetFlipCropColor => Entry(nameof(MocoV2ImageNetFlipCropColor));

    /// <summary>MoCo v2 on ImageNet, + RandomGrayscale (<c>moco_v2_imagenet_aug_frcg.pth</c>); Table 1.</summary>
    public static Backbone MocoV2ImageNetFlipCropColorGray => Entry(nameof(MocoV2ImageNetFlipCropColorGray));

    /// <summary>Supervised on ImageNet with the full augmentation recipe (<c>supervised_imagenet.pth</c>); Tables 1 and 2.</summary>
    public static Backbone SupervisedImageNet => Entry(nameof(SupervisedImageNet));

    /// <summary>Supervised on ImageNet with horizontal flips only (<c>supervised_imagenet_aug_f.pth</c>); Table 1.</summary>
    public static Backbone SupervisedImageNetFlip => Entry(nameof(SupervisedImageNetFlip));

    /// <summary>Supervised on ImageNet, + RandomResizedCrop (<c>supervised_imagenet_aug_fr.pth</c>); Table 1.</summary>
    public static Backbone SupervisedImageNetFlipCrop => Entry(nameof(SupervisedImageNetFlipCrop));

    /// <summary>Supervised on ImageNet, + ColorJitter (<c>supervised_imagenet_aug_frc.pth</c>); Table 1.</summary>
    public static Backbone SupervisedImageNetFlipCropColor => Entry(nameof(SupervisedImageNetFlipCropColor));

    /// <summary>Supervised on ImageNet, + RandomGrayscale (<c>supervised_imagenet_aug_frcg.pth</c>); Table 1.</summary>
    public static Backbone SupervisedImageNetFlipCropColorGray => Entry(nameof(SupervisedImageNetFlipCropColorGray));

    /// <summary>MoCo v2 on a 10% subset of ImageNet (<c>moco_v2_imagenet1over10.pth</c>); Table 2.</summary>
    public static Backbone MocoV2ImageNet10Percent => Entry(nameof(MocoV2ImageNet10Percent));

    /// <summary>MoCo v2 on ImageNet-100 (<c>moco_v2_imagenet100.pth</c>); Table 2.</summary>
    public static Backbone MocoV2ImageNet100 => Entry(nameof(MocoV2ImageNet100));

    /// <summary>MoCo v2 on Places (<c>moco_v2_palces.pth</c>, the published spelling); Table 2.</summary>
    public static Backbone MocoV2Places => Entry(nameof(MocoV2Places));

    /// <summary>MoCo v2 on CelebA (<c>moco_v2_celeba.pth</c>); Table 2.</summary>
    public static Backbone MocoV2CelebA => Entry(nameof(MocoV2CelebA));

    /// <summary>MoCo v2 on COCO (<c>moco_v2_coco.pth</c>); Table 2.</summary>
    public static Backbone MocoV2Coco => Entry(nameof(MocoV2Coco));

    /// <summary>MoCo v2 on Synthia (<c>moco_v2_synthia.pth</c>); Table 2.</summary>
    public static Backbone MocoV2Synthia => Entry(nameof(MocoV2Synthia));

    /// <summary>Supervised on a 10% subset of ImageNet (<c>supervised_imagenet1over10.pth</c>); Table 2.</summary>
    public static Backbone SupervisedImageNet10Percent => Entry(nameof(SupervisedImageNet10Percent));

    /// <summary>Supervised on ImageNet-100 (<c>supervised_imagenet100.pth</c>); Table 2.</summary>
    public static Backbone SupervisedImageNet100 => Entry(nameof(SupervisedImageNet100));

    /// <summary>Supervised on Places (<c>supervised_places.pth</c>); Table 2.</summary>
    public static Backbone SupervisedPlaces => Entry(nameof(SupervisedPlaces));

    /// <summary>Supervised on CelebA (<c>supervised_celeba.pth</c>); Table 2.</summary>
    public static Backbone SupervisedCelebA => Entry(nameof(SupervisedCelebA));

    /// <summary>Supervised on COCO (<c>supervised_coco.pth</c>); Table 2.</summary>
    public static Backbone SupervisedCoco => Entry(nameof(SupervisedCoco));

    /// <summary>Supervised on Synthia (<c>supervised_synthia.pth</c>); Table 2.</summary>
    public static Backbone SupervisedSynthia => Entry(nameof(SupervisedSynthia));

    /// <summary>Exemplar-based supervised pretraining, version 1 (<c>exemplar_v1.pth</c>); Table 3.</summary>
    public static Backbone ExemplarV1 => Entry(nameof(ExemplarV1));

    /// <summary>Exemplar-based supervised pretraining, version 2 (<c>exemplar_v2.pth</c>); Table 3.</summary>
    public static Backbone ExemplarV2 => Entry(nameof(ExemplarV2));

    private static Backbone Entry(string name) => Array.Find(Catalog, b => b.Name == name)!;

    // The entry fewest single-letter edits away (any case), the first in catalog order on a tie, if at
    // most MaxSuggestionDistance: a typo or a wrong digit, not another name.
    private static Backbone? Closest(string name)
    {
        const int MaxSuggestionDistance = 3;
        var closest = Catalog.MinBy(b => EditDistance(b.Name, name))!;
        return EditDistance(closest.Name, name) <= MaxSuggestionDistance ? closest : null;
    }

    // Levenshtein distance, ignoring case, with two rows of the table.
    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = char.ToUpperInvariant(a[i - 1]) == char.ToUpperInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + substitution);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static Backbone Paper(string name, string fileName, PretrainingMethod method, PretrainingData data, ML.Augmentations? augmentations, params int[] tables) =>
        new(name, fileName, new Uri(PaperBaseUrl + fileName), checkpointPath: null, method, data, augmentations, tables, "resnet50", 2048);
}
