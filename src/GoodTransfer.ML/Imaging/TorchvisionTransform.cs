using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace GoodTransfer.ML.Imaging;

/// <summary>
/// torchvision 0.14's evaluation transform on a PIL image, before Normalize, for one
/// <see cref="ImagePreprocessing"/>: <c>Resize(ResizeSize)</c>, <c>CenterCrop(CropSize)</c>, <c>ToTensor()</c>.
/// Normalize lives in the ONNX graph. An instance holds only sizes and may be shared between threads.
/// </summary>
internal sealed class TorchvisionTransform
{
    /// <summary><c>ToTensor</c>'s <c>uint8 / 255</c> in float32, for each byte value.</summary>
    private static readonly float[] ByteToUnit = CreateByteToUnit();

    private readonly int cropBytes;

    /// <summary>The transform of <paramref name="preprocessing"/>'s resize and crop.</summary>
    public TorchvisionTransform(ImagePreprocessing preprocessing)
    {
        ArgumentNullException.ThrowIfNull(preprocessing);
        Preprocessing = preprocessing;
        ResizeSize = preprocessing.ResizeSize;
        CropSize = preprocessing.CropSize;

        // At most 3 * 4096 * 4096 (ImagePreprocessing.MaxSize): no overflow.
        TensorLength = 3 * CropSize * CropSize;
        cropBytes = TensorLength;
    }

    /// <summary>The transform of <see cref="ImagePreprocessing.ImageNet"/>: <c>Resize(256)</c>, <c>CenterCrop(224)</c>.</summary>
    public static TorchvisionTransform ImageNet { get; } = new(ImagePreprocessing.ImageNet);

    /// <summary>The preprocessing this transform applies (all of it but Normalize).</summary>
    public ImagePreprocessing Preprocessing { get; }

    /// <summary>The shorter side after <c>Resize</c>.</summary>
    public int ResizeSize { get; }

    /// <summary>The side of <c>CenterCrop</c>.</summary>
    public int CropSize { get; }

    /// <summary>Floats in one <c>[3, CropSize, CropSize]</c> tensor.</summary>
    public int TensorLength { get; }

    /// <summary>
    /// Writes the <c>[3, CropSize, CropSize]</c> CHW float32 tensor of <paramref name="image"/> into
    /// <paramref name="destination"/>: channel by channel, row by row, each value the 8-bit
    /// sample divided by 255.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="destination"/> holds fewer than <see cref="TensorLength"/> floats, or the
    /// image is so elongated that its resized long side would not fit Pillow's 32-bit sizes.
    /// </exception>
    public void ToTensor(RgbImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckDestination(destination);
        ToTensor(PixelWindow.Of(image), ResizedSize(image.Width, image.Height), destination);
    }

    /// <summary>
    /// <c>ToTensor(ImageDecoder.DecodeFile(path), destination)</c>, the same floats and the same exceptions, at less
    /// cost: a JPEG is decoded only where the resize reads, and the pixels live in pooled buffers, not a new image.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file exists at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidImageException">The file is not an image that can be decoded.</exception>
    /// <exception cref="ArgumentException">As <see cref="ToTensor(RgbImage, Span{float})"/>; a destination too small is refused before the file is read.</exception>
    public void FileToTensor(string path, Span<float> destination)
    {
        CheckDestination(destination);
        using var image = EncodedImage.OpenFile(path);
        ToTensor(image, destination);
    }

    /// <summary>
    /// <c>ToTensor(ImageDecoder.Decode(encoded, source), destination)</c>, the same floats and the same exceptions, at
    /// less cost (see <see cref="FileToTensor"/>).
    /// </summary>
    /// <exception cref="InvalidImageException">The bytes are not an image that can be decoded.</exception>
    /// <exception cref="ArgumentException">As <see cref="ToTensor(RgbImage, Span{float})"/>; a destination too small is refused before the bytes are read.</exception>
    public void BytesToTensor(ReadOnlySpan<byte> encoded, string source, Span<float> destination)
    {
        CheckDestination(destination);
        using var image = EncodedImage.Open(encoded, source);
        ToTensor(image, destination);
    }

    /// <summary>The tensor of an opened image, decoding only the pixels that the resize and crop read.</summary>
    internal void ToTensor(EncodedImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckDestination(destination);
        if (!TryResizedSize(image.Width, image.Height, out var resized))
        {
            // Decoded first, so that a broken image is refused as such before the size is.
            ToTensor(image.Decode(), destination);
            return;
        }

        var (left, top) = CropOrigin(resized.Width, resized.Height);
        var (firstColumn, columns, firstRow, rows) = PillowResize.SourceBounds(image.Width, image.Height, resized.Width, resized.Height, left, top, CropSize, CropSize);
        using var pixels = image.DecodeWindow(firstColumn, columns, firstRow, rows);
        ToTensor(pixels.Window, resized, destination);
    }

    /// <summary>The <c>CropSize</c> x <c>CropSize</c> 8-bit result of <c>CenterCrop(CropSize)(Resize(ResizeSize)(image))</c>.</summary>
    public RgbImage ResizeAndCrop(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var pixels = new byte[cropBytes];
        ResizeAndCrop(image, pixels);
        return new RgbImage(CropSize, CropSize, pixels);
    }

    /// <summary>
    /// The size that <c>Resize(ResizeSize)</c> gives: the shorter side becomes <see cref="ResizeSize"/> and
    /// the longer side <c>int(ResizeSize * long / short)</c>, truncated; a square becomes
    /// <c>ResizeSize</c> x <c>ResizeSize</c>. An image whose shorter side is already <see cref="ResizeSize"/>
    /// is returned unchanged.
    /// </summary>
    public (int Width, int Height) ResizedSize(int width, int height) =>
        TryResizedSize(width, height, out var size)
            ? size
            : throw new ArgumentException($"A {width}x{height} image is too elongated: Resize({ResizeSize}) would make its long side {Math.Truncate((double)((long)ResizeSize * Math.Max(width, height)) / Math.Min(width, height)):F0} pixels, more than Pillow can address.");

    /// <summary>
    /// Where <c>CenterCrop(CropSize)</c> starts in an image of this size:
    /// <c>int(round((size - CropSize) / 2.0))</c>, with Python's rounding of halves to even.
    /// </summary>
    public (int Left, int Top) CropOrigin(int width, int height) =>
        ((int)Math.Round((width - CropSize) / 2.0, MidpointRounding.ToEven),
         (int)Math.Round((height - CropSize) / 2.0, MidpointRounding.ToEven));

    private void ResizeAndCrop(RgbImage image, Span<byte> destination)
    {
        // The shorter side becomes ResizeSize, at least CropSize (ImagePreprocessing refuses a larger
        // crop), and the longer side at least as long, so the crop always fits and torchvision's padding
        // branch is never taken.
        var (width, height) = ResizedSize(image.Width, image.Height);
        var (left, top) = CropOrigin(width, height);
        PillowResize.ResizeRegion(image, width, height, left, top, CropSize, CropSize, destination);
    }

    private void ToTensor(scoped in PixelWindow source, (int Width, int Height) resized, Span<float> destination)
    {
        var (left, top) = CropOrigin(resized.Width, resized.Height);
        var rented = ArrayPool<byte>.Shared.Rent(cropBytes);
        try
        {
            var crop = rented.AsSpan(0, cropBytes);
            PillowResize.ResizeRegion(source, resized.Width, resized.Height, left, top, CropSize, CropSize, crop, VectorWidths.Widest);
            ToPlanes(crop, destination[..TensorLength], VectorWidths.Widest);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private bool TryResizedSize(int width, int height, out (int Width, int Height) size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var shortSide = Math.Min(width, height);
        var longSide = Math.Max(width, height);

        // Python divides the exact integer product in double precision, correctly rounded, as here.
        var newLong = Math.Truncate((double)((long)ResizeSize * longSide) / shortSide);
        if (newLong > int.MaxValue)
        {
            size = default;
            return false;
        }

        size = width <= height ? (ResizeSize, (int)newLong) : ((int)newLong, ResizeSize);
        return true;
    }

    private void CheckDestination(Span<float> destination)
    {
        if (destination.Length < TensorLength)
        {
            throw new ArgumentException($"The destination holds {destination.Length} floats; a [3, {CropSize}, {CropSize}] tensor needs {TensorLength}.", nameof(destination));
        }
    }

    /// <summary>
    /// Splits interleaved RGB bytes into three float planes of <c>byte / 255f</c>, R then G then B. With 256- or
    /// 512-bit vectors it takes 16 pixels at a time, three byte shuffles per plane (2.2 times as fast as the table
    /// on the 2-core Xeon of the benchmarks); with 128-bit ones the table is as fast, and is used.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ToPlanes(ReadOnlySpan<byte> rgb, Span<float> planes, VectorWidth vectors)
    {
        var plane = rgb.Length / 3;
        if (planes.Length != 3 * plane)
        {
            throw new ArgumentException($"{rgb.Length} bytes of RGB make {3 * plane} floats, not {planes.Length}.", nameof(planes));
        }

        var red = planes[..plane];
        var green = planes.Slice(plane, plane);
        var blue = planes.Slice(2 * plane, plane);
        var i = 0;
        if (vectors >= VectorWidth.Bits256)
        {
            ref var source = ref MemoryMarshal.GetReference(rgb);
            for (; i + 16 <= plane; i += 16)
            {
                var a = Vector128.LoadUnsafe(ref source, (nuint)(3 * i));
                var b = Vector128.LoadUnsafe(ref source, (nuint)((3 * i) + 16));
                var c = Vector128.LoadUnsafe(ref source, (nuint)((3 * i) + 32));

                // Indices of 255 give 0, so each plane is the OR of one shuffle of each load.
                var r = Vector128.Shuffle(a, Vector128.Create((byte)0, 3, 6, 9, 12, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255))
                    | Vector128.Shuffle(b, Vector128.Create((byte)255, 255, 255, 255, 255, 255, 2, 5, 8, 11, 14, 255, 255, 255, 255, 255))
                    | Vector128.Shuffle(c, Vector128.Create((byte)255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1, 4, 7, 10, 13));
                var g = Vector128.Shuffle(a, Vector128.Create((byte)1, 4, 7, 10, 13, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255))
                    | Vector128.Shuffle(b, Vector128.Create((byte)255, 255, 255, 255, 255, 0, 3, 6, 9, 12, 15, 255, 255, 255, 255, 255))
                    | Vector128.Shuffle(c, Vector128.Create((byte)255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 2, 5, 8, 11, 14));
                var bl = Vector128.Shuffle(a, Vector128.Create((byte)2, 5, 8, 11, 14, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255))
                    | Vector128.Shuffle(b, Vector128.Create((byte)255, 255, 255, 255, 255, 1, 4, 7, 10, 13, 255, 255, 255, 255, 255, 255))
                    | Vector128.Shuffle(c, Vector128.Create((byte)255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 3, 6, 9, 12, 15));
                StoreUnits(r, red, i, vectors);
                StoreUnits(g, green, i, vectors);
                StoreUnits(bl, blue, i, vectors);
            }
        }

        var table = ByteToUnit.AsSpan();
        for (; i < plane; i++)
        {
            red[i] = table[rgb[3 * i]];
            green[i] = table[rgb[(3 * i) + 1]];
            blue[i] = table[rgb[(3 * i) + 2]];
        }
    }

    /// <summary>
    /// Writes 16 bytes as the floats <c>byte / 255f</c> at <paramref name="destination"/>[<paramref name="at"/>..],
    /// with one float32 division per value: IEEE division is correctly rounded, as the scalar quotient is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StoreUnits(Vector128<byte> bytes, Span<float> destination, int at, VectorWidth vectors)
    {
        var values = destination.Slice(at, 16);
        if (vectors == VectorWidth.Bits512)
        {
            (Vector512.ConvertToSingle(Vector512.WidenLower(Vector256.WidenLower(bytes.ToVector256Unsafe()).ToVector512Unsafe()).AsInt32()) / 255f).CopyTo(values);
        }
        else
        {
            var words = Vector256.WidenLower(bytes.ToVector256Unsafe());
            (Vector256.ConvertToSingle(Vector256.WidenLower(words).AsInt32()) / 255f).CopyTo(values);
            (Vector256.ConvertToSingle(Vector256.WidenUpper(words).AsInt32()) / 255f).CopyTo(values[8..]);
        }
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
