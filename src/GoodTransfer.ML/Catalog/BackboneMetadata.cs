using System.Collections.ObjectModel;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

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
/// <c>ToTensor()</c> and <c>Normalize(Mean, Std)</c>. GoodTransfer.ML reproduces it exactly: the resize and
/// crop in its own code, the normalisation inside the ONNX graph, whose input is <c>[N, 3, CropSize, CropSize]</c>.
/// </summary>
/// <remarks>
/// The constructor checks every member, so an instance always describes a transform that can be
/// reproduced. The members have no <c>init</c> accessors: a <c>with</c> expression sets them one at a
/// time, and a crop checked against the resize size it replaces would be refused or let through by
/// the order of the assignments. Two instances with the same numbers are equal.
/// </remarks>
/// <param name="ResizeSize">The shorter side after resizing (256 for ImageNet), 1 to <see cref="MaxSize"/>.</param>
/// <param name="CropSize">The side of the centre crop fed to the network (224 for ImageNet), 1 to <see cref="ResizeSize"/>.</param>
/// <param name="Mean">Per-channel mean, RGB order, for values in [0, 1]: three finite values.</param>
/// <param name="Std">Per-channel standard deviation, RGB order: three finite values above zero.</param>
/// <exception cref="ArgumentOutOfRangeException">A size is outside 1 to <see cref="MaxSize"/>, or the crop is larger than the resized shorter side.</exception>
/// <exception cref="ArgumentNullException"><paramref name="Mean"/> or <paramref name="Std"/> is <see langword="null"/>.</exception>
/// <exception cref="ArgumentException"><paramref name="Mean"/> or <paramref name="Std"/> does not hold three finite values, or a standard deviation is not above zero.</exception>
public sealed record ImagePreprocessing(int ResizeSize, int CropSize, IReadOnlyList<float> Mean, IReadOnlyList<float> Std)
{
    /// <summary>
    /// The largest <see cref="ResizeSize"/> and <see cref="CropSize"/> accepted: far above any published
    /// eval transform, and small enough that one <c>[3, CropSize, CropSize]</c> float32 tensor (192 MiB
    /// at most) and every size computed from it stay within 32-bit arithmetic.
    /// </summary>
    public const int MaxSize = 4096;

    /// <summary>torchvision's ImageNet evaluation transform, used by every backbone of the paper.</summary>
    public static ImagePreprocessing ImageNet { get; } = new(256, 224, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>The shorter side after <c>Resize</c>.</summary>
    public int ResizeSize { get; } = CheckSize(ResizeSize, nameof(ResizeSize));

    /// <summary>The side of <c>CenterCrop</c>, at most <see cref="ResizeSize"/>.</summary>
    public int CropSize { get; } = CheckCrop(CropSize, ResizeSize, nameof(CropSize));

    /// <summary>Per-channel mean, RGB order: a read-only copy of the values given.</summary>
    public IReadOnlyList<float> Mean { get; } = CheckChannels(Mean, nameof(Mean), positive: false);

    /// <summary>Per-channel standard deviation, RGB order: a read-only copy of the values given.</summary>
    public IReadOnlyList<float> Std { get; } = CheckChannels(Std, nameof(Std), positive: true);

    /// <summary>
    /// The first 8 hex digits (lower case) of the SHA-256 of <see cref="ToString"/>'s UTF-8 bytes: a short
    /// name for this preprocessing that stays the same across processes and machines, for cache file names.
    /// </summary>
    internal string CacheKey => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(ToString())))[..8].ToLowerInvariant();

    /// <inheritdoc/>
    public bool Equals(ImagePreprocessing? other) =>
        other is not null
        && ResizeSize == other.ResizeSize
        && CropSize == other.CropSize
        && Mean.SequenceEqual(other.Mean)
        && Std.SequenceEqual(other.Std);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(ResizeSize, CropSize, Mean[0], Mean[1], Mean[2], Std[0], Std[1], Std[2]);

    /// <summary>
    /// The transform as torchvision would print its steps, with invariant culture and the shortest
    /// decimal that reads back as the same float:
    /// <c>Resize(256) CenterCrop(224) Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])</c>.
    /// </summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"Resize({ResizeSize}) CenterCrop({CropSize}) Normalize(mean=[{FormatChannels(Mean, ", ")}], std=[{FormatChannels(Std, ", ")}])");

    /// <summary>The three values with invariant culture, each the shortest decimal that reads back as the same float.</summary>
    internal static string FormatChannels(IReadOnlyList<float> values, string separator) =>
        string.Join(separator, values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static int CheckSize(int size, string name)
    {
        if (size is < 1 or > MaxSize)
        {
            throw new ArgumentOutOfRangeException(name, size, $"{name} must be between 1 and {MaxSize} pixels.");
        }

        return size;
    }

    private static int CheckCrop(int cropSize, int resizeSize, string name)
    {
        CheckSize(cropSize, name);
        if (cropSize > resizeSize)
        {
            // torchvision's CenterCrop pads an image smaller than the crop with zeros, which no pretrained
            // backbone's eval transform relies on.
            throw new ArgumentOutOfRangeException(
                name,
                cropSize,
                $"CenterCrop({cropSize}) is larger than the shorter side after Resize({resizeSize}); torchvision would pad the image with black borders, which GoodTransfer.ML does not reproduce. CropSize must be at most ResizeSize.");
        }

        return cropSize;
    }

    private static ReadOnlyCollection<float> CheckChannels(IReadOnlyList<float> values, string name, bool positive)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Count != 3)
        {
            throw new ArgumentException($"{name} needs 3 values, one per RGB channel; it has {values.Count}.", name);
        }

        var copy = new float[3];
        for (var i = 0; i < copy.Length; i++)
        {
            var value = values[i];
            if (!float.IsFinite(value))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{name}[{i}] is {value}; every value must be finite."), name);
            }

            if (positive && value <= 0)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{name}[{i}] is {value}; a standard deviation must be above zero."), name);
            }

            // -0 becomes 0, so that equal settings also print, hash and name their caches alike.
            copy[i] = value == 0 ? 0f : value;
        }

        return Array.AsReadOnly(copy);
    }
}
