using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace GoodTransfer.ML.Imaging;

/// <summary>
/// Pillow 9.4's <c>Image.resize(size, Image.BILINEAR)</c> of an 8-bit RGB image, bit for bit.
/// </summary>
/// <remarks>
/// <para>
/// The algorithm of Pillow's <c>libImaging/Resample.c</c> (<c>ImagingResample</c>), written anew:
/// a separable filter, horizontal pass first, then vertical. When downscaling, the bilinear
/// (triangle) filter is stretched by the scale, so the resize is antialiased. Each output
/// sample's weights are computed in double precision, normalised to sum to 1, then turned into
/// fixed point with 22 fractional bits (<c>PRECISION_BITS = 32 - 8 - 2</c>) rounding half away from
/// zero. Sums start at one half (<c>1 &lt;&lt; 21</c>) and are clipped to 0..255 after each pass:
/// the intermediate image is 8-bit, as in Pillow. A pass whose size does not change is skipped.
/// Results match Pillow built for x86-64, where the compiler does not fuse the coefficient
/// arithmetic into multiply-adds.
/// </para>
/// <para>
/// Both passes run on SIMD vectors where the hardware has them, with Pillow's int32 arithmetic unchanged:
/// each byte is widened to an int32 lane, multiplied by its int32 weight and added, so every sum is the
/// scalar one exactly (integer addition is exact in any order and no partial sum overflows: at most 255
/// times the weights' total of about 2^22, plus 2^21). The horizontal pass gives each output pixel one
/// vector of four int32 lanes, R, G, B and a lane of weight 0, and adds four taps per 16-byte load; the
/// vertical pass adds whole source rows, 16, 32 or 64 bytes at a time, times one weight each.
/// </para>
/// <para>
/// The methods that loop over pixels (here, in <see cref="TorchvisionTransform.ToPlanes"/> and in
/// <see cref="ImageDecoder"/>) are compiled optimized at their first call (<c>AggressiveOptimization</c>): tiered
/// compilation would first run them unoptimized, several times slower, through a new process's first hundred or so
/// images (a fresh process's first pass of 128 photos from paths, int8, on a 2-core Xeon: 91 images/s, 99 with it).
/// </para>
/// </remarks>
internal static class PillowResize
{
    private const int PrecisionBits = 32 - 8 - 2;
    private const int RoundingHalf = 1 << (PrecisionBits - 1);

    /// <summary>Taps that one 16-byte load of the horizontal pass covers: four pixels (of 3 or 4 bytes).</summary>
    private const int TapsPerLoad = 4;

    /// <summary>Resizes the whole image, as Pillow's <c>image.resize((width, height), Image.BILINEAR)</c>.</summary>
    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var pixels = new byte[checked(width * height * 3)];
        ResizeRegion(image, width, height, 0, 0, width, height, pixels);
        return new RgbImage(width, height, pixels);
    }

    /// <summary>
    /// Computes only the pixels inside one rectangle of the resized image: the same bytes that
    /// resizing the whole image and then cropping would give, since every output pixel depends
    /// only on its own row's and column's weights.
    /// </summary>
    /// <param name="image">The image to resize.</param>
    /// <param name="width">Width of the whole resized image.</param>
    /// <param name="height">Height of the whole resized image.</param>
    /// <param name="left">First column of the rectangle, in the resized image.</param>
    /// <param name="top">First row of the rectangle, in the resized image.</param>
    /// <param name="regionWidth">Width of the rectangle.</param>
    /// <param name="regionHeight">Height of the rectangle.</param>
    /// <param name="destination">Receives the rectangle's pixels, RGB, row by row without padding.</param>
    public static void ResizeRegion(RgbImage image, int width, int height, int left, int top, int regionWidth, int regionHeight, Span<byte> destination) =>
        ResizeRegion(PixelWindow.Of(image), width, height, left, top, regionWidth, regionHeight, destination, VectorWidths.Widest);

    /// <summary>
    /// <see cref="ResizeRegion(RgbImage, int, int, int, int, int, int, Span{byte})"/> of an image of which only
    /// <paramref name="source"/> is in memory; it must hold every pixel that <see cref="SourceBounds"/> names.
    /// </summary>
    /// <param name="source">What is in memory of the image to resize.</param>
    /// <param name="width">Width of the whole resized image.</param>
    /// <param name="height">Height of the whole resized image.</param>
    /// <param name="left">First column of the rectangle, in the resized image.</param>
    /// <param name="top">First row of the rectangle, in the resized image.</param>
    /// <param name="regionWidth">Width of the rectangle.</param>
    /// <param name="regionHeight">Height of the rectangle.</param>
    /// <param name="destination">Receives the rectangle's pixels, RGB, row by row without padding.</param>
    /// <param name="vectors">The widest vectors to use; the bytes are the same for every width.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ResizeRegion(scoped in PixelWindow source, int width, int height, int left, int top, int regionWidth, int regionHeight, Span<byte> destination, VectorWidth vectors)
    {
        CheckRegion(width, height, left, top, regionWidth, regionHeight);
        var rowBytes = checked(regionWidth * 3);
        if (destination.Length < (long)rowBytes * regionHeight)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; {regionWidth}x{regionHeight} RGB needs {(long)rowBytes * regionHeight}.", nameof(destination));
        }

        // Pillow skips a pass whose size does not change (need_horizontal, need_vertical).
        var needHorizontal = width != source.ImageWidth;
        var needVertical = height != source.ImageHeight;
        using var vertical = needVertical ? ResampleKernel.Bilinear(source.ImageHeight, height, top, regionHeight) : default;
        using var horizontal = needHorizontal ? ResampleKernel.Bilinear(source.ImageWidth, width, left, regionWidth) : default;

        // Source rows that the vertical pass reads (Pillow's ybox_first, ybox_last), and columns that the horizontal pass reads.
        var (firstRow, rowCount) = needVertical ? vertical.Span() : (top, regionHeight);
        var (firstColumn, columnCount) = needHorizontal ? horizontal.Span() : (left, regionWidth);
        if (!source.Contains(firstColumn, columnCount, firstRow, rowCount))
        {
            throw new ArgumentException($"The resize reads columns {firstColumn}..{firstColumn + columnCount - 1} of rows {firstRow}..{firstRow + rowCount - 1}; the window holds columns {source.Left}..{source.Left + source.Width - 1} of rows {source.Top}..{source.Top + source.Height - 1}.", nameof(source));
        }

        var bytesPerPixel = source.BytesPerPixel;
        var rows = source.Pixels[((firstRow - source.Top) * source.Stride)..];
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> rgbRows;
            int rgbStride, rgbOffset;
            if (needHorizontal || bytesPerPixel != 3)
            {
                var length = checked(rowBytes * rowCount);
                rented = ArrayPool<byte>.Shared.Rent(length);
                var intermediate = rented.AsSpan(0, length);
                if (needHorizontal)
                {
                    HorizontalPass(rows, source.Stride, bytesPerPixel, source.Left, rowCount, horizontal, intermediate, rowBytes, vectors);
                }
                else
                {
                    for (var y = 0; y < rowCount; y++)
                    {
                        ImageDecoder.DropAlpha(rows.Slice((y * source.Stride) + ((left - source.Left) * 4), regionWidth * 4), intermediate.Slice(y * rowBytes, rowBytes));
                    }
                }

                rgbRows = intermediate;
                rgbStride = rowBytes;
                rgbOffset = 0;
            }
            else
            {
                rgbRows = rows;
                rgbStride = source.Stride;
                rgbOffset = (left - source.Left) * 3;
            }

            if (needVertical)
            {
                VerticalPass(rgbRows, rgbStride, rgbOffset, rowBytes, vertical, firstRow, destination, vectors);
            }
            else
            {
                for (var y = 0; y < regionHeight; y++)
                {
                    rgbRows.Slice((y * rgbStride) + rgbOffset, rowBytes).CopyTo(destination.Slice(y * rowBytes, rowBytes));
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The source columns and rows that <see cref="ResizeRegion(RgbImage, int, int, int, int, int, int, Span{byte})"/>
    /// reads to make one rectangle of an <paramref name="imageWidth"/> x <paramref name="imageHeight"/> image resized to
    /// <paramref name="width"/> x <paramref name="height"/>: what a decoder must decode, and nothing else is read.
    /// </summary>
    public static (int FirstColumn, int Columns, int FirstRow, int Rows) SourceBounds(int imageWidth, int imageHeight, int width, int height, int left, int top, int regionWidth, int regionHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageHeight, 1);
        CheckRegion(width, height, left, top, regionWidth, regionHeight);
        var (firstColumn, columns) = width == imageWidth ? (left, regionWidth) : ResampleKernel.SpanOf(imageWidth, width, left, regionWidth);
        var (firstRow, rows) = height == imageHeight ? (top, regionHeight) : ResampleKernel.SpanOf(imageHeight, height, top, regionHeight);
        return (firstColumn, columns, firstRow, rows);
    }

    private static void CheckRegion(int width, int height, int left, int top, int regionWidth, int regionHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(regionWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(regionHeight, 1);
        if (left < 0 || top < 0 || left > width - regionWidth || top > height - regionHeight)
        {
            throw new ArgumentOutOfRangeException(nameof(left), $"The rectangle at ({left}, {top}) of {regionWidth}x{regionHeight} is not inside the {width}x{height} image.");
        }
    }

    /// <param name="source">The first source row the pass reads, and the rows after it.</param>
    /// <param name="sourceStride">Bytes from one source row to the next.</param>
    /// <param name="bytesPerPixel">3 (RGB) or 4 (RGBA, the alpha ignored).</param>
    /// <param name="sourceLeft">The image column of each source row's first pixel.</param>
    /// <param name="rowCount">Rows to resize.</param>
    /// <param name="kernel">The weights of the output columns.</param>
    /// <param name="destination">Receives the RGB rows.</param>
    /// <param name="destinationStride">Bytes from one destination row to the next.</param>
    /// <param name="vectors">The widest vectors to use.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HorizontalPass(ReadOnlySpan<byte> source, int sourceStride, int bytesPerPixel, int sourceLeft, int rowCount, in ResampleKernel kernel, Span<byte> destination, int destinationStride, VectorWidth vectors)
    {
        if (vectors == VectorWidth.None)
        {
            for (var y = 0; y < rowCount; y++)
            {
                HorizontalRowScalar(source.Slice(y * sourceStride), bytesPerPixel, sourceLeft, kernel, 0, destination.Slice(y * destinationStride, destinationStride));
            }

            return;
        }

        using var taps = new PixelTaps(kernel, sourceLeft, bytesPerPixel);
        for (var y = 0; y < rowCount; y++)
        {
            // Each 16-byte load may read past the last tap (into pixels of weight 0) but never past the source:
            // near its end, the columns whose loads would are left to the scalar loop.
            var row = source.Slice(y * sourceStride);
            var vectorColumns = taps.ColumnsLoadableWithin(row.Length);
            var destinationRow = destination.Slice(y * destinationStride);
            switch (vectors)
            {
                case VectorWidth.Bits128:
                    HorizontalRow128(row, bytesPerPixel, taps, vectorColumns, destinationRow);
                    break;
                case VectorWidth.Bits256:
                    HorizontalRow256(row, bytesPerPixel, taps, vectorColumns, destinationRow);
                    break;
                default:
                    HorizontalRow512(row, bytesPerPixel, taps, vectorColumns, destinationRow);
                    break;
            }

            HorizontalRowScalar(row, bytesPerPixel, sourceLeft, kernel, vectorColumns, destinationRow);
        }
    }

    /// <summary>Output columns <paramref name="firstColumn"/> onwards of one row, one multiply per channel and tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HorizontalRowScalar(ReadOnlySpan<byte> row, int bytesPerPixel, int sourceLeft, in ResampleKernel kernel, int firstColumn, Span<byte> destination)
    {
        for (var x = firstColumn; x < kernel.Length; x++)
        {
            var weights = kernel.Weights(x);
            var taps = row.Slice((kernel.Start(x) - sourceLeft) * bytesPerPixel, weights.Length * bytesPerPixel);
            int red = RoundingHalf, green = RoundingHalf, blue = RoundingHalf;
            for (var t = 0; t < weights.Length; t++)
            {
                var weight = weights[t];
                var pixel = taps.Slice(t * bytesPerPixel, 3);
                red += pixel[0] * weight;
                green += pixel[1] * weight;
                blue += pixel[2] * weight;
            }

            destination[3 * x] = Clip8(red);
            destination[(3 * x) + 1] = Clip8(green);
            destination[(3 * x) + 2] = Clip8(blue);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HorizontalRow128(ReadOnlySpan<byte> row, int bytesPerPixel, in PixelTaps taps, int columns, Span<byte> destination)
    {
        ref var source = ref MemoryMarshal.GetReference(row);
        ref var lanes = ref MemoryMarshal.GetArrayDataReference(taps.Lanes);
        var loadBytes = TapsPerLoad * bytesPerPixel;
        for (var x = 0; x < columns; x++)
        {
            var offset = (nuint)taps.Offsets[x];
            ref var weights = ref Unsafe.Add(ref lanes, x * taps.LanesPerColumn);
            var sum = Vector128.Create(RoundingHalf);
            for (var load = 0; load < taps.Loads; load++)
            {
                var pixels = ToRgbx(Vector128.LoadUnsafe(ref source, offset), bytesPerPixel);
                var low = Vector128.WidenLower(pixels);
                var high = Vector128.WidenUpper(pixels);
                sum += Vector128.WidenLower(low).AsInt32() * Vector128.LoadUnsafe(ref weights);
                sum += Vector128.WidenUpper(low).AsInt32() * Vector128.LoadUnsafe(ref weights, 4);
                sum += Vector128.WidenLower(high).AsInt32() * Vector128.LoadUnsafe(ref weights, 8);
                sum += Vector128.WidenUpper(high).AsInt32() * Vector128.LoadUnsafe(ref weights, 12);
                offset += (nuint)loadBytes;
                weights = ref Unsafe.Add(ref weights, 16);
            }

            StorePixel(sum, destination, x);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HorizontalRow256(ReadOnlySpan<byte> row, int bytesPerPixel, in PixelTaps taps, int columns, Span<byte> destination)
    {
        ref var source = ref MemoryMarshal.GetReference(row);
        ref var lanes = ref MemoryMarshal.GetArrayDataReference(taps.Lanes);
        var loadBytes = TapsPerLoad * bytesPerPixel;
        for (var x = 0; x < columns; x++)
        {
            var offset = (nuint)taps.Offsets[x];
            ref var weights = ref Unsafe.Add(ref lanes, x * taps.LanesPerColumn);
            var sum = Vector256<int>.Zero;
            for (var load = 0; load < taps.Loads; load++)
            {
                // Two pixels per 256-bit vector: taps 0 and 1, then 2 and 3.
                var pixels = Vector256.WidenLower(ToRgbx(Vector128.LoadUnsafe(ref source, offset), bytesPerPixel).ToVector256Unsafe());
                sum += Vector256.WidenLower(pixels).AsInt32() * Vector256.LoadUnsafe(ref weights);
                sum += Vector256.WidenUpper(pixels).AsInt32() * Vector256.LoadUnsafe(ref weights, 8);
                offset += (nuint)loadBytes;
                weights = ref Unsafe.Add(ref weights, 16);
            }

            StorePixel(sum.GetLower() + sum.GetUpper() + Vector128.Create(RoundingHalf), destination, x);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HorizontalRow512(ReadOnlySpan<byte> row, int bytesPerPixel, in PixelTaps taps, int columns, Span<byte> destination)
    {
        ref var source = ref MemoryMarshal.GetReference(row);
        ref var lanes = ref MemoryMarshal.GetArrayDataReference(taps.Lanes);
        var loadBytes = TapsPerLoad * bytesPerPixel;
        for (var x = 0; x < columns; x++)
        {
            var offset = (nuint)taps.Offsets[x];
            ref var weights = ref Unsafe.Add(ref lanes, x * taps.LanesPerColumn);
            var sum = Vector512<int>.Zero;
            for (var load = 0; load < taps.Loads; load++)
            {
                // All four taps in one 512-bit vector.
                var pixels = Vector512.WidenLower(Vector256.WidenLower(ToRgbx(Vector128.LoadUnsafe(ref source, offset), bytesPerPixel).ToVector256Unsafe()).ToVector512Unsafe());
                sum += pixels.AsInt32() * Vector512.LoadUnsafe(ref weights);
                offset += (nuint)loadBytes;
                weights = ref Unsafe.Add(ref weights, 16);
            }

            var half = sum.GetLower() + sum.GetUpper();
            StorePixel(half.GetLower() + half.GetUpper() + Vector128.Create(RoundingHalf), destination, x);
        }
    }

    /// <summary>Four pixels as R, G, B, X, X being alpha or zero (its weight is zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> ToRgbx(Vector128<byte> pixels, int bytesPerPixel) =>
        bytesPerPixel == 4 ? pixels : Vector128.Shuffle(pixels, Vector128.Create((byte)0, 1, 2, 255, 3, 4, 5, 255, 6, 7, 8, 255, 9, 10, 11, 255));

    /// <summary>
    /// Stores the R, G, B of a sum of four lanes (R, G, B, unused) as output pixel <paramref name="x"/>, with one
    /// 4-byte store where the byte after the pixel is in <paramref name="destination"/> (the next pixel overwrites it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePixel(Vector128<int> sum, Span<byte> destination, int x)
    {
        var clipped = Vector128.Min(Vector128.Max(sum >> PrecisionBits, Vector128<int>.Zero), Vector128.Create(255));
        var bytes = Vector128.Shuffle(clipped.AsByte(), Vector128.Create((byte)0, 4, 8, 12, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255));
        if ((3 * x) + 4 <= destination.Length)
        {
            Unsafe.WriteUnaligned(ref destination[3 * x], bytes.AsUInt32().ToScalar());
        }
        else
        {
            var pixel = destination.Slice(3 * x, 3);
            pixel[0] = bytes.GetElement(0);
            pixel[1] = bytes.GetElement(1);
            pixel[2] = bytes.GetElement(2);
        }
    }

    /// <remarks>
    /// Sums each output row's taps row by row, so this order gives Pillow's per-pixel sums exactly.
    /// A row is done in chunks of one vector of bytes, the last chunk ending at the row's end (it may
    /// overlap the one before, which writes the same bytes again); a row shorter than a vector is scalar.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VerticalPass(ReadOnlySpan<byte> rows, int rowsStride, int rowsOffset, int rowBytes, in ResampleKernel kernel, int firstRow, Span<byte> destination, VectorWidth vectors)
    {
        // Every load below lies inside rows: the kernel reads rows 0 .. rowCount - 1 of it, bytes rowsOffset .. rowsOffset + rowBytes - 1 of each.
        var lastRow = kernel.Start(kernel.Length - 1) + kernel.Count(kernel.Length - 1) - firstRow - 1;
        if (kernel.Start(0) < firstRow || rows.Length < ((long)lastRow * rowsStride) + rowsOffset + rowBytes || destination.Length < (long)kernel.Length * rowBytes)
        {
            throw new ArgumentException("The vertical pass's rows do not hold every row the kernel reads.", nameof(rows));
        }

        var chunk = vectors switch
        {
            VectorWidth.Bits512 when rowBytes >= 64 => 64,
            VectorWidth.Bits512 or VectorWidth.Bits256 when rowBytes >= 32 => 32,
            VectorWidth.None => 0,
            _ when rowBytes >= 16 => 16,
            _ => 0,
        };

        ref var rowsStart = ref Unsafe.Add(ref MemoryMarshal.GetReference(rows), rowsOffset);
        ref var destinationStart = ref MemoryMarshal.GetReference(destination);
        for (var y = 0; y < kernel.Length; y++)
        {
            var weights = kernel.Weights(y);
            ref var firstTap = ref Unsafe.Add(ref rowsStart, (kernel.Start(y) - firstRow) * rowsStride);
            ref var output = ref Unsafe.Add(ref destinationStart, y * rowBytes);
            if (chunk == 0)
            {
                VerticalRowScalar(rows.Slice(((kernel.Start(y) - firstRow) * rowsStride) + rowsOffset), rowsStride, rowBytes, weights, destination.Slice(y * rowBytes, rowBytes));
                continue;
            }

            for (var i = 0; ; i += chunk)
            {
                var at = (nuint)Math.Min(i, rowBytes - chunk);
                switch (chunk)
                {
                    case 64:
                        VerticalChunk512(ref firstTap, rowsStride, weights, at).StoreUnsafe(ref output, at);
                        break;
                    case 32:
                        VerticalChunk256(ref firstTap, rowsStride, weights, at).StoreUnsafe(ref output, at);
                        break;
                    default:
                        VerticalChunk128(ref firstTap, rowsStride, weights, at).StoreUnsafe(ref output, at);
                        break;
                }

                if ((int)at == rowBytes - chunk)
                {
                    break;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VerticalRowScalar(ReadOnlySpan<byte> firstTap, int rowsStride, int rowBytes, ReadOnlySpan<int> weights, Span<byte> destination)
    {
        for (var i = 0; i < rowBytes; i++)
        {
            var sum = RoundingHalf;
            for (var t = 0; t < weights.Length; t++)
            {
                sum += firstTap[(t * rowsStride) + i] * weights[t];
            }

            destination[i] = Clip8(sum);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> VerticalChunk128(ref byte firstTap, int rowsStride, ReadOnlySpan<int> weights, nuint at)
    {
        var half = Vector128.Create(RoundingHalf);
        Vector128<int> s0 = half, s1 = half, s2 = half, s3 = half;
        ref var tap = ref firstTap;
        foreach (var weight in weights)
        {
            var w = Vector128.Create(weight);
            var bytes = Vector128.LoadUnsafe(ref tap, at);
            var (low, high) = Vector128.Widen(bytes);
            var (a, b) = Vector128.Widen(low);
            var (c, d) = Vector128.Widen(high);
            s0 += a.AsInt32() * w;
            s1 += b.AsInt32() * w;
            s2 += c.AsInt32() * w;
            s3 += d.AsInt32() * w;
            tap = ref Unsafe.Add(ref tap, rowsStride);
        }

        return Vector128.Narrow(Vector128.Narrow(Clip(s0), Clip(s1)), Vector128.Narrow(Clip(s2), Clip(s3)));

        static Vector128<uint> Clip(Vector128<int> sum) => Vector128.Min(Vector128.Max(sum >> PrecisionBits, Vector128<int>.Zero), Vector128.Create(255)).AsUInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> VerticalChunk256(ref byte firstTap, int rowsStride, ReadOnlySpan<int> weights, nuint at)
    {
        var half = Vector256.Create(RoundingHalf);
        Vector256<int> s0 = half, s1 = half, s2 = half, s3 = half;
        ref var tap = ref firstTap;
        foreach (var weight in weights)
        {
            var w = Vector256.Create(weight);
            var bytes = Vector256.LoadUnsafe(ref tap, at);
            var (low, high) = Vector256.Widen(bytes);
            var (a, b) = Vector256.Widen(low);
            var (c, d) = Vector256.Widen(high);
            s0 += a.AsInt32() * w;
            s1 += b.AsInt32() * w;
            s2 += c.AsInt32() * w;
            s3 += d.AsInt32() * w;
            tap = ref Unsafe.Add(ref tap, rowsStride);
        }

        return Vector256.Narrow(Vector256.Narrow(Clip(s0), Clip(s1)), Vector256.Narrow(Clip(s2), Clip(s3)));

        static Vector256<uint> Clip(Vector256<int> sum) => Vector256.Min(Vector256.Max(sum >> PrecisionBits, Vector256<int>.Zero), Vector256.Create(255)).AsUInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> VerticalChunk512(ref byte firstTap, int rowsStride, ReadOnlySpan<int> weights, nuint at)
    {
        var half = Vector512.Create(RoundingHalf);
        Vector512<int> s0 = half, s1 = half, s2 = half, s3 = half;
        ref var tap = ref firstTap;
        foreach (var weight in weights)
        {
            var w = Vector512.Create(weight);
            var bytes = Vector512.LoadUnsafe(ref tap, at);
            var (low, high) = Vector512.Widen(bytes);
            var (a, b) = Vector512.Widen(low);
            var (c, d) = Vector512.Widen(high);
            s0 += a.AsInt32() * w;
            s1 += b.AsInt32() * w;
            s2 += c.AsInt32() * w;
            s3 += d.AsInt32() * w;
            tap = ref Unsafe.Add(ref tap, rowsStride);
        }

        return Vector512.Narrow(Vector512.Narrow(Clip(s0), Clip(s1)), Vector512.Narrow(Clip(s2), Clip(s3)));

        static Vector512<uint> Clip(Vector512<int> sum) => Vector512.Min(Vector512.Max(sum >> PrecisionBits, Vector512<int>.Zero), Vector512.Create(255)).AsUInt32();
    }

    /// <summary>Pillow's clip8: drop the fraction (arithmetic shift), clamp to 0..255.</summary>
    private static byte Clip8(int sum)
    {
        var value = sum >> PrecisionBits;
        return (byte)(value < 0 ? 0 : value > 255 ? 255 : value);
    }

    /// <summary>
    /// The horizontal kernel laid out for the vector loops: for each output column, the byte offset of its
    /// first tap in a source row, and its weights in groups of four taps, each weight in four int32 lanes
    /// (R, G, B, then 0 for the unused lane), taps past the column's own given weight 0. Its arrays are rented
    /// from the shared pool; dispose it to return them.
    /// </summary>
    private readonly struct PixelTaps : IDisposable
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public PixelTaps(in ResampleKernel kernel, int sourceLeft, int bytesPerPixel)
        {
            var mostTaps = 0;
            for (var x = 0; x < kernel.Length; x++)
            {
                mostTaps = Math.Max(mostTaps, kernel.Count(x));
            }

            Loads = Math.Max(1, (mostTaps + TapsPerLoad - 1) / TapsPerLoad);
            LanesPerColumn = Loads * TapsPerLoad * 4;
            Offsets = ArrayPool<int>.Shared.Rent(kernel.Length);
            Lanes = ArrayPool<int>.Shared.Rent(checked(kernel.Length * LanesPerColumn));
            Columns = kernel.Length;
            LastLoadEnd = ((Loads - 1) * TapsPerLoad * bytesPerPixel) + 16;
            Lanes.AsSpan(0, kernel.Length * LanesPerColumn).Clear();
            for (var x = 0; x < kernel.Length; x++)
            {
                Offsets[x] = (kernel.Start(x) - sourceLeft) * bytesPerPixel;
                LoadsEnd = Math.Max(LoadsEnd, Offsets[x] + LastLoadEnd);
                var weights = kernel.Weights(x);
                var lanes = Lanes.AsSpan(x * LanesPerColumn, LanesPerColumn);
                for (var t = 0; t < weights.Length; t++)
                {
                    lanes.Slice(4 * t, 3).Fill(weights[t]);
                }
            }
        }

        /// <summary>16-byte loads per output column.</summary>
        public int Loads { get; }

        public int LanesPerColumn { get; }

        public int Columns { get; }

        /// <summary>Where the last load of a column ends, from its first tap.</summary>
        public int LastLoadEnd { get; }

        /// <summary>Where the last load of any column ends, from the row's start.</summary>
        public int LoadsEnd { get; }

        /// <summary>Byte offset of each output column's first tap in a source row.</summary>
        public int[] Offsets { get; }

        public int[] Lanes { get; }

        /// <summary>
        /// How many output columns, from the first, have every 16-byte load inside a source row of which
        /// <paramref name="available"/> bytes can be read: all of them but near the end of the source.
        /// </summary>
        public int ColumnsLoadableWithin(int available)
        {
            if (available >= LoadsEnd)
            {
                return Columns;
            }

            var columns = 0;
            while (columns < Columns && Offsets[columns] + LastLoadEnd <= available)
            {
                columns++;
            }

            return columns;
        }

        public void Dispose()
        {
            if (Offsets is null)
            {
                return;
            }

            ArrayPool<int>.Shared.Return(Offsets);
            ArrayPool<int>.Shared.Return(Lanes);
        }
    }

    /// <summary>
    /// The fixed-point weights of a range of output samples along one axis (Pillow's
    /// <c>precompute_coeffs</c> followed by <c>normalize_coeffs_8bpc</c>). Its arrays are rented
    /// from the shared pool; dispose it to return them.
    /// </summary>
    private readonly struct ResampleKernel : IDisposable
    {
        private const double BilinearSupport = 1.0;

        private readonly int[] starts;
        private readonly int[] counts;
        private readonly int[] weights;
        private readonly int stride;

        private ResampleKernel(int length, int stride)
        {
            Length = length;
            this.stride = stride;
            starts = ArrayPool<int>.Shared.Rent(length);
            counts = ArrayPool<int>.Shared.Rent(length);
            weights = ArrayPool<int>.Shared.Rent(checked(length * stride));
        }

        /// <summary>Number of output samples described.</summary>
        public int Length { get; }

        /// <summary>
        /// The weights of output samples <paramref name="first"/> .. <paramref name="first"/> + <paramref name="count"/> - 1
        /// when <paramref name="inSize"/> input samples are resized to <paramref name="outSize"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static ResampleKernel Bilinear(int inSize, int outSize, int first, int count)
        {
            var (scale, support, stride) = Geometry(inSize, outSize);
            var inverseFilterScale = 1.0 / Math.Max(scale, 1.0);
            var kernel = new ResampleKernel(count, stride);
            var taps = ArrayPool<double>.Shared.Rent(stride);
            try
            {
                for (var i = 0; i < count; i++)
                {
                    var center = (first + i + 0.5) * scale;
                    var (min, n) = Bounds(center, support, inSize);
                    var total = 0.0;
                    for (var x = 0; x < n; x++)
                    {
                        var weight = Triangle(((x + min) - center + 0.5) * inverseFilterScale);
                        taps[x] = weight;
                        total += weight;
                    }

                    var fixedPoint = kernel.weights.AsSpan(i * stride, n);
                    for (var x = 0; x < n; x++)
                    {
                        var normalised = total != 0.0 ? taps[x] / total : taps[x];
                        fixedPoint[x] = normalised < 0
                            ? (int)(-0.5 + (normalised * (1 << PrecisionBits)))
                            : (int)(0.5 + (normalised * (1 << PrecisionBits)));
                    }

                    kernel.starts[i] = min;
                    kernel.counts[i] = n;
                }
            }
            catch
            {
                kernel.Dispose();
                throw;
            }
            finally
            {
                ArrayPool<double>.Shared.Return(taps);
            }

            return kernel;
        }

        /// <summary>The input samples that output samples <paramref name="first"/> .. <paramref name="first"/> + <paramref name="count"/> - 1 read, without computing their weights.</summary>
        public static (int First, int Count) SpanOf(int inSize, int outSize, int first, int count)
        {
            var (scale, support, _) = Geometry(inSize, outSize);
            var (min, _) = Bounds((first + 0.5) * scale, support, inSize);
            var (lastMin, lastCount) = Bounds((first + count - 1 + 0.5) * scale, support, inSize);
            return (min, lastMin + lastCount - min);
        }

        /// <summary>The input samples that these output samples read: the first one's start to the last one's end.</summary>
        public (int First, int Count) Span() => (starts[0], starts[Length - 1] + counts[Length - 1] - starts[0]);

        public int Start(int index) => starts[index];

        public int Count(int index) => counts[index];

        public ReadOnlySpan<int> Weights(int index) => weights.AsSpan(index * stride, counts[index]);

        public void Dispose()
        {
            if (starts is null)
            {
                return;
            }

            ArrayPool<int>.Shared.Return(starts);
            ArrayPool<int>.Shared.Return(counts);
            ArrayPool<int>.Shared.Return(weights);
        }

        private static (double Scale, double Support, int Stride) Geometry(int inSize, int outSize)
        {
            // Pillow passes the source box as C floats: in1 - in0 is computed in single precision.
            var scale = (double)(float)inSize / outSize;
            var support = BilinearSupport * Math.Max(scale, 1.0);
            return (scale, support, ((int)Math.Ceiling(support) * 2) + 1);
        }

        /// <summary>The first input sample and the number of them under a filter centred at <paramref name="center"/>.</summary>
        private static (int Min, int Count) Bounds(double center, double support, int inSize)
        {
            // Casts truncate toward zero, as C's do.
            var min = (int)(center - support + 0.5);
            if (min < 0)
            {
                min = 0;
            }

            var max = (int)(center + support + 0.5);
            if (max > inSize)
            {
                max = inSize;
            }

            return (min, max - min);
        }

        /// <summary>Pillow's bilinear_filter: 1 - |x| inside (-1, 1), else 0.</summary>
        private static double Triangle(double x)
        {
            if (x < 0.0)
            {
                x = -x;
            }

            return x < 1.0 ? 1.0 - x : 0.0;
        }
    }
}
