using System.Buffers;

namespace GoodTransfer.ML.Imaging;

/// <summary>
/// Pillow 9.4's <c>Image.resize(size, Image.BILINEAR)</c> of an 8-bit RGB image, bit for bit.
/// </summary>
/// <remarks>
/// The algorithm of Pillow's <c>libImaging/Resample.c</c> (<c>ImagingResample</c>), written anew:
/// a separable filter, horizontal pass first, then vertical. When downscaling, the bilinear
/// (triangle) filter is stretched by the scale, so the resize is antialiased. Each output
/// sample's weights are computed in double precision, normalised to sum to 1, then turned into
/// fixed point with 22 fractional bits (<c>PRECISION_BITS = 32 - 8 - 2</c>) rounding half away from
/// zero. Sums start at one half (<c>1 &lt;&lt; 21</c>) and are clipped to 0..255 after each pass:
/// the intermediate image is 8-bit, as in Pillow. A pass whose size does not change is skipped.
/// Results match Pillow built for x86-64, where the compiler does not fuse the coefficient
/// arithmetic into multiply-adds.
/// </remarks>
internal static class PillowResize
{
    private const int PrecisionBits = 32 - 8 - 2;
    private const int RoundingHalf = 1 << (PrecisionBits - 1);

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
    public static void ResizeRegion(RgbImage image, int width, int height, int left, int top, int regionWidth, int regionHeight, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(regionWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(regionHeight, 1);
        if (left < 0 || top < 0 || left > width - regionWidth || top > height - regionHeight)
        {
            throw new ArgumentOutOfRangeException(nameof(left), $"The rectangle at ({left}, {top}) of {regionWidth}x{regionHeight} is not inside the {width}x{height} image.");
        }

        var rowBytes = checked(regionWidth * 3);
        if (destination.Length < (long)rowBytes * regionHeight)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; {regionWidth}x{regionHeight} RGB needs {(long)rowBytes * regionHeight}.", nameof(destination));
        }

        // Pillow skips a pass whose size does not change (need_horizontal, need_vertical).
        var needHorizontal = width != image.Width;
        var needVertical = height != image.Height;
        using var vertical = needVertical ? ResampleKernel.Bilinear(image.Height, height, top, regionHeight) : default;

        // Source rows that the vertical pass reads (Pillow's ybox_first, ybox_last).
        int firstRow, rowCount;
        if (needVertical)
        {
            firstRow = vertical.Start(0);
            rowCount = vertical.Start(regionHeight - 1) + vertical.Count(regionHeight - 1) - firstRow;
        }
        else
        {
            firstRow = top;
            rowCount = regionHeight;
        }

        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> rows;
            int rowsStride, rowsOffset;
            if (needHorizontal)
            {
                using var horizontal = ResampleKernel.Bilinear(image.Width, width, left, regionWidth);
                var length = checked(rowBytes * rowCount);
                rented = ArrayPool<byte>.Shared.Rent(length);
                var intermediate = rented.AsSpan(0, length);
                HorizontalPass(image.Pixels, image.Stride, firstRow, rowCount, horizontal, intermediate, rowBytes);
                rows = intermediate;
                rowsStride = rowBytes;
                rowsOffset = 0;
            }
            else
            {
                rows = image.Pixels.AsSpan(firstRow * image.Stride);
                rowsStride = image.Stride;
                rowsOffset = left * 3;
            }

            if (needVertical)
            {
                VerticalPass(rows, rowsStride, rowsOffset, rowBytes, vertical, firstRow, destination);
            }
            else
            {
                for (var y = 0; y < regionHeight; y++)
                {
                    rows.Slice(y * rowsStride + rowsOffset, rowBytes).CopyTo(destination.Slice(y * rowBytes, rowBytes));
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

    private static void HorizontalPass(ReadOnlySpan<byte> source, int sourceStride, int firstRow, int rowCount, in ResampleKernel kernel, Span<byte> destination, int destinationStride)
    {
        for (var y = 0; y < rowCount; y++)
        {
            var sourceRow = source.Slice((firstRow + y) * sourceStride, sourceStride);
            var destinationRow = destination.Slice(y * destinationStride, destinationStride);
            for (var x = 0; x < kernel.Length; x++)
            {
                var weights = kernel.Weights(x);
                var taps = sourceRow.Slice(kernel.Start(x) * 3, weights.Length * 3);
                int red = RoundingHalf, green = RoundingHalf, blue = RoundingHalf;
                for (var t = 0; t < weights.Length; t++)
                {
                    var weight = weights[t];
                    red += taps[3 * t] * weight;
                    green += taps[(3 * t) + 1] * weight;
                    blue += taps[(3 * t) + 2] * weight;
                }

                destinationRow[3 * x] = Clip8(red);
                destinationRow[(3 * x) + 1] = Clip8(green);
                destinationRow[(3 * x) + 2] = Clip8(blue);
            }
        }
    }

    /// <remarks>
    /// Sums each output row's taps row by row into an int accumulator. Integer addition is exact
    /// and no partial sum can overflow (at most 255 times the weights' total of 2^22, plus 2^21),
    /// so this order gives Pillow's per-pixel sums exactly.
    /// </remarks>
    private static void VerticalPass(ReadOnlySpan<byte> rows, int rowsStride, int rowsOffset, int rowBytes, in ResampleKernel kernel, int firstRow, Span<byte> destination)
    {
        var rented = ArrayPool<int>.Shared.Rent(rowBytes);
        try
        {
            var sums = rented.AsSpan(0, rowBytes);
            for (var y = 0; y < kernel.Length; y++)
            {
                sums.Fill(RoundingHalf);
                var weights = kernel.Weights(y);
                var start = kernel.Start(y) - firstRow;
                for (var t = 0; t < weights.Length; t++)
                {
                    var weight = weights[t];
                    var row = rows.Slice(((start + t) * rowsStride) + rowsOffset, rowBytes);
                    for (var i = 0; i < row.Length; i++)
                    {
                        sums[i] += row[i] * weight;
                    }
                }

                var destinationRow = destination.Slice(y * rowBytes, rowBytes);
                for (var i = 0; i < destinationRow.Length; i++)
                {
                    destinationRow[i] = Clip8(sums[i]);
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>Pillow's clip8: drop the fraction (arithmetic shift), clamp to 0..255.</summary>
    private static byte Clip8(int sum)
    {
        var value = sum >> PrecisionBits;
        return (byte)(value < 0 ? 0 : value > 255 ? 255 : value);
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
        public static ResampleKernel Bilinear(int inSize, int outSize, int first, int count)
        {
            // Pillow passes the source box as C floats: in1 - in0 is computed in single precision.
            var scale = (double)(float)inSize / outSize;
            var filterScale = scale < 1.0 ? 1.0 : scale;
            var support = BilinearSupport * filterScale;
            var stride = ((int)Math.Ceiling(support) * 2) + 1;
            var inverseFilterScale = 1.0 / filterScale;

            var kernel = new ResampleKernel(count, stride);
            var taps = ArrayPool<double>.Shared.Rent(stride);
            try
            {
                for (var i = 0; i < count; i++)
                {
                    var outIndex = first + i;
                    var center = (outIndex + 0.5) * scale;

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

                    var n = max - min;
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
