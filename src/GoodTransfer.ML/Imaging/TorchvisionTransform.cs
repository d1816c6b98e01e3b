using System.Buffers;

namespace GoodTransfer.ML.Imaging;

/// <summary>
/// torchvision 0.14's evaluation transform on a PIL image, before Normalize:
/// <c>Resize(256)</c>, <c>CenterCrop(224)</c>, <c>ToTensor()</c>. Normalize lives in the ONNX graph.
/// </summary>
internal static class TorchvisionTransform
{
    /// <summary>The shorter side after <c>Resize(256)</c>.</summary>
    public const int ResizeSize = 256;

    /// <summary>The side of <c>CenterCrop(224)</c>.</summary>
    public const int CropSize = 224;

    /// <summary>Floats in one [3, 224, 224] tensor.</summary>
    public const int TensorLength = 3 * CropSize * CropSize;

    private const int CropBytes = CropSize * CropSize * 3;

    /// <summary><c>ToTensor</c>'s <c>uint8 / 255</c> in float32, for each byte value.</summary>
    private static readonly float[] ByteToUnit = CreateByteToUnit();

    /// <summary>
    /// Writes the [3, 224, 224] CHW float32 tensor of <paramref name="image"/> into
    /// <paramref name="destination"/>: channel by channel, row by row, each value the 8-bit
    /// sample divided by 255.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="destination"/> holds fewer than <see cref="TensorLength"/> floats, or the
    /// image is so elongated that its resized long side would not fit Pillow's 32-bit sizes.
    /// </exception>
    public static void ToTensor(RgbImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (destination.Length < TensorLength)
        {
            throw new ArgumentException($"The destination holds {destination.Length} floats; a [3, {CropSize}, {CropSize}] tensor needs {TensorLength}.", nameof(destination));
        }

        var rented = ArrayPool<byte>.Shared.Rent(CropBytes);
        try
        {
            var crop = rented.AsSpan(0, CropBytes);
            ResizeAndCrop(image, crop);
            const int Plane = CropSize * CropSize;
            var red = destination[..Plane];
            var green = destination.Slice(Plane, Plane);
            var blue = destination.Slice(2 * Plane, Plane);
            var table = ByteToUnit.AsSpan();
            for (var i = 0; i < Plane; i++)
            {
                red[i] = table[crop[3 * i]];
                green[i] = table[crop[(3 * i) + 1]];
                blue[i] = table[crop[(3 * i) + 2]];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The 224x224 8-bit result of <c>CenterCrop(224)(Resize(256)(image))</c>.</summary>
    public static RgbImage ResizeAndCrop(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var pixels = new byte[CropBytes];
        ResizeAndCrop(image, pixels);
        return new RgbImage(CropSize, CropSize, pixels);
    }

    /// <summary>
    /// The size that <c>Resize(256)</c> gives: the shorter side becomes 256 and the longer side
    /// <c>int(256 * long / short)</c>, truncated; a square becomes 256x256. An image whose shorter
    /// side is already 256 is returned unchanged.
    /// </summary>
    public static (int Width, int Height) ResizedSize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var shortSide = Math.Min(width, height);
        var longSide = Math.Max(width, height);

        // Python divides the exact integer product in double precision, correctly rounded, as here.
        var newLong = Math.Truncate((double)((long)ResizeSize * longSide) / shortSide);
        if (newLong > int.MaxValue)
        {
            throw new ArgumentException($"A {width}x{height} image is too elongated: Resize({ResizeSize}) would make its long side {newLong:F0} pixels, more than Pillow can address.");
        }

        return width <= height ? (ResizeSize, (int)newLong) : ((int)newLong, ResizeSize);
    }

    /// <summary>
    /// Where <c>CenterCrop(224)</c> starts in an image of this size:
    /// <c>int(round((size - 224) / 2.0))</c>, with Python's rounding of halves to even.
    /// </summary>
    public static (int Left, int Top) CropOrigin(int width, int height) =>
        ((int)Math.Round((width - CropSize) / 2.0, MidpointRounding.ToEven),
         (int)Math.Round((height - CropSize) / 2.0, MidpointRounding.ToEven));

    private static void ResizeAndCrop(RgbImage image, Span<byte> destination)
    {
        // The shorter side becomes 256 >= 224 and the longer side at least as long, so the crop
        // always fits and torchvision's padding branch is never taken.
        var (width, height) = ResizedSize(image.Width, image.Height);
        var (left, top) = CropOrigin(width, height);
        PillowResize.ResizeRegion(image, width, height, left, top, CropSize, CropSize, destination);
    }

    private static float[] CreateByteToUnit()
    {
        var table = new float[256];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = i / 255f;
        }

        return table;
    }
}
