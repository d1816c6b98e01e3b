using GoodTransfer.ML.Imaging;

namespace GoodTransfer.ML.Tests.Imaging;

/// <summary>
/// The SIMD loops of the resize and of the tensor against their scalar arithmetic, at every vector width this
/// machine runs (the fixtures show that the widest one matches Pillow). Sizes are random, most not a multiple of
/// any vector, upscaled and downscaled, from RGB images and from windows of RGBA ones.
/// </summary>
public sealed class VectorizedPreprocessingTests
{
    /// <summary>
    /// The vector widths accelerated here, in bits (a test's arguments must be public types), and 0, the scalar loops,
    /// so that a machine without SIMD (or DOTNET_EnableHWIntrinsic=0) still has a case.
    /// </summary>
    public static TheoryData<int> Widths => new(VectorWidths.Accelerated.Select(width => (int)width));

    [Theory]
    [MemberData(nameof(Widths))]
    public void Every_vector_width_resizes_to_the_scalar_bytes(int bits)
    {
        var vectors = (VectorWidth)bits;
        var random = new Random(20_240_601 + bits);
        for (var trial = 0; trial < 400; trial++)
        {
            // Mostly small images, some wider than the 64-byte chunks, a few 1 pixel thin; a tenth keep one side.
            var imageWidth = trial % 7 == 0 ? random.Next(1, 4) : random.Next(1, trial % 3 == 0 ? 400 : 60);
            var imageHeight = trial % 11 == 0 ? random.Next(1, 4) : random.Next(1, 60);
            var width = trial % 10 == 1 ? imageWidth : random.Next(1, trial % 5 == 0 ? 300 : 90);
            var height = trial % 10 == 2 ? imageHeight : random.Next(1, 90);
            var image = RandomImage(random, imageWidth, imageHeight);
            var regionWidth = random.Next(1, width + 1);
            var regionHeight = random.Next(1, height + 1);
            var left = random.Next(0, width - regionWidth + 1);
            var top = random.Next(0, height - regionHeight + 1);
            var expected = new byte[regionWidth * regionHeight * 3];
            var actual = new byte[expected.Length];

            PillowResize.ResizeRegion(PixelWindow.Of(image), width, height, left, top, regionWidth, regionHeight, expected, VectorWidth.None);
            PillowResize.ResizeRegion(PixelWindow.Of(image), width, height, left, top, regionWidth, regionHeight, actual, vectors);

            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{imageWidth}x{imageHeight} to {width}x{height}, {regionWidth}x{regionHeight} at ({left}, {top})");
        }
    }

    /// <summary>
    /// What the decoder hands over: RGBA rows, only those and the columns the resize reads, with a margin, and
    /// padding at the end of each row. The alpha is random: it must be ignored.
    /// </summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void A_window_of_RGBA_pixels_resizes_to_the_bytes_of_the_whole_RGB_image(int bits)
    {
        var widest = (VectorWidth)bits;
        var random = new Random(7_000 + bits);
        foreach (var vectors in new[] { VectorWidth.None, widest })
        {
            for (var trial = 0; trial < 200; trial++)
            {
                var imageWidth = random.Next(1, trial % 2 == 0 ? 300 : 50);
                var imageHeight = random.Next(1, 50);
                var (width, height) = (random.Next(1, 120), random.Next(1, 120));
                if (trial % 8 == 0)
                {
                    width = imageWidth;
                }

                var image = RandomImage(random, imageWidth, imageHeight);
                var regionWidth = random.Next(1, width + 1);
                var regionHeight = random.Next(1, height + 1);
                var left = random.Next(0, width - regionWidth + 1);
                var top = random.Next(0, height - regionHeight + 1);
                var expected = new byte[regionWidth * regionHeight * 3];
                PillowResize.ResizeRegion(PixelWindow.Of(image), width, height, left, top, regionWidth, regionHeight, expected, VectorWidth.None);

                var (firstColumn, columns, firstRow, rows) = PillowResize.SourceBounds(imageWidth, imageHeight, width, height, left, top, regionWidth, regionHeight);
                var windowLeft = Math.Max(0, firstColumn - random.Next(0, 3));
                var windowTop = Math.Max(0, firstRow - random.Next(0, 3));
                var windowWidth = Math.Min(imageWidth, firstColumn + columns + random.Next(0, 3)) - windowLeft;
                var windowHeight = Math.Min(imageHeight, firstRow + rows + random.Next(0, 3)) - windowTop;
                var stride = (windowWidth * 4) + random.Next(0, 9);
                var rgba = new byte[((windowHeight - 1) * stride) + (windowWidth * 4)];
                random.NextBytes(rgba);
                for (var y = 0; y < windowHeight; y++)
                {
                    for (var x = 0; x < windowWidth; x++)
                    {
                        image.Pixels.AsSpan((((windowTop + y) * imageWidth) + windowLeft + x) * 3, 3).CopyTo(rgba.AsSpan((y * stride) + (4 * x)));
                    }
                }

                var window = new PixelWindow(rgba, 4, stride, imageWidth, imageHeight, windowLeft, windowTop, windowWidth, windowHeight);
                var actual = new byte[expected.Length];

                PillowResize.ResizeRegion(window, width, height, left, top, regionWidth, regionHeight, actual, vectors);

                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{vectors}: {imageWidth}x{imageHeight} to {width}x{height}, {regionWidth}x{regionHeight} at ({left}, {top}), window {windowWidth}x{windowHeight} at ({windowLeft}, {windowTop})");
            }
        }
    }

    [Fact]
    public void A_window_without_a_pixel_the_resize_reads_is_refused()
    {
        var rgba = new byte[10 * 10 * 4];
        var (firstColumn, columns, firstRow, rows) = PillowResize.SourceBounds(100, 100, 50, 50, 10, 10, 5, 5);

        var error = Assert.Throws<ArgumentException>(() =>
        {
            var window = new PixelWindow(rgba, 4, 40, 100, 100, firstColumn + 1, firstRow, 10, 10);
            PillowResize.ResizeRegion(window, 50, 50, 10, 10, 5, 5, new byte[75], VectorWidths.Widest);
        });

        Assert.Equal((19, 12, 19, 12), (firstColumn, columns, firstRow, rows));
        Assert.Equal("source", error.ParamName);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Every_vector_width_makes_the_tables_tensor(int bits)
    {
        var vectors = (VectorWidth)bits;
        var random = new Random(99);
        foreach (var pixels in new[] { 1, 15, 16, 17, 256, 50_176, 50_177 })
        {
            var rgb = new byte[pixels * 3];
            random.NextBytes(rgb);
            var expected = new float[rgb.Length];
            var actual = new float[rgb.Length];

            TorchvisionTransform.ToPlanes(rgb, expected, VectorWidth.None);
            TorchvisionTransform.ToPlanes(rgb, actual, vectors);

            Assert.Equal(expected, actual);
        }
    }

    /// <summary>ToTensor is <c>uint8 / 255</c> in float32: every byte value, in each plane, at every width.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void Every_byte_value_becomes_its_float32_quotient_by_255(int bits)
    {
        var vectors = (VectorWidth)bits;
        var rgb = new byte[3 * 256];
        for (var i = 0; i < rgb.Length; i++)
        {
            rgb[i] = (byte)((i / 3) + (i % 3 * 85));
        }

        var planes = new float[rgb.Length];

        TorchvisionTransform.ToPlanes(rgb, planes, vectors);

        for (var i = 0; i < 256; i++)
        {
            for (var channel = 0; channel < 3; channel++)
            {
                var value = rgb[(3 * i) + channel];
                Assert.Equal(value / 255f, planes[(channel * 256) + i]);
            }
        }
    }

    private static RgbImage RandomImage(Random random, int width, int height)
    {
        var pixels = new byte[width * height * 3];
        random.NextBytes(pixels);

        // Many bytes at 0 and 255, the ends of the clipping.
        for (var i = 0; i < pixels.Length / 4; i++)
        {
            pixels[random.Next(pixels.Length)] = random.Next(2) == 0 ? (byte)0 : (byte)255;
        }

        return new RgbImage(width, height, pixels);
    }
}
