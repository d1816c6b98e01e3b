namespace GoodTransfer.ML;

/// <summary>How a backbone was pretrained.</summary>
public enum PretrainingMethod
{
    /// <summary>MoCo v2 instance discrimination (self-supervised, no labels).</summary>
    MocoV2,

    /// <summary>Supervised classification with labels.</summary>
    Supervised,

    /// <summary>The paper's exemplar-based supervised pretraining (Table 3).</summary>
    Exemplar,
}

/// <summary>The images a backbone was pretrained on.</summary>
public enum PretrainingData
{
    /// <summary>ImageNet-1k, 1.28 million images.</summary>
    ImageNet,

    /// <summary>A 10% subset of ImageNet-1k.</summary>
    ImageNet10Percent,

    /// <summary>ImageNet-100: 100 of ImageNet-1k's classes.</summary>
    ImageNet100,

    /// <summary>Places (scenes).</summary>
    Places,

    /// <summary>CelebA (faces).</summary>
    CelebA,

    /// <summary>COCO (scenes with many objects).</summary>
    Coco,

    /// <summary>Synthia (synthetic driving scenes).</summary>
    Synthia,
}

/// <summary>Data augmentations used in pretraining, as the paper's Table 1 adds them one by one.</summary>
[Flags]
public enum Augmentations
{
    /// <summary>No augmentation.</summary>
    None = 0,

    /// <summary><c>RandomHorizontalFlip(0.5)</c>.</summary>
    HorizontalFlip = 1,

    /// <summary><c>RandomResizedCrop(224)</c>.</summary>
    RandomResizedCrop = 2,

    /// <summary><c>ColorJitter(0.4, 0.4, 0.4, 0.1)</c>.</summary>
    ColorJitter = 4,

    /// <summary><c>RandomGrayscale(p=0.2)</c>.</summary>
    RandomGrayscale = 8,

    /// <summary><c>GaussianBlur(0.1, 0.2)</c>.</summary>
    GaussianBlur = 16,

    /// <summary>MoCo v2's full recipe: all of the above (Table 1's last row).</summary>
    FullRecipe = HorizontalFlip | RandomResizedCrop | ColorJitter | RandomGrayscale | GaussianBlur,
}

/// <summary>
/// The image preprocessing a backbone was trained and evaluated with: torchvision's eval transform
/// <c>Resize(ResizeSize)</c> (shorter side, Pillow bilinear with antialiasing), <c>CenterCrop(CropSize)</c>,
/// <c>ToTensor()</c> and <c>Normalize(Mean, Std)</c>. GoodTransfer.ML reproduces it exactly.
/// </summary>
/// <param name="ResizeSize">The shorter side after resizing (256).</param>
/// <param name="CropSize">The side of the centre crop fed to the network (224).</param>
/// <param name="Mean">Per-channel mean, RGB order, for values in [0, 1].</param>
/// <param name="Std">Per-channel standard deviation, RGB order.</param>
public sealed record ImagePreprocessing(int ResizeSize, int CropSize, IReadOnlyList<float> Mean, IReadOnlyList<float> Std)
{
    /// <summary>torchvision's ImageNet evaluation transform, used by every backbone of the paper.</summary>
    public static ImagePreprocessing ImageNet { get; } = new(256, 224, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
}
