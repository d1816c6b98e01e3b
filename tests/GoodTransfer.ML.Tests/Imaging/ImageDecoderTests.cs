using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Tests.Imaging;

public sealed class ImageDecoderTests
{
    /// <summary>
    /// Fixtures that an MLImage cannot give exactly: it holds colours premultiplied by a
    /// non-opaque alpha, and only the high byte of 16-bit grayscale samples, which Pillow clamps.
    /// </summary>
    private static readonly string[] NotExactAsMLImage =
        ["astronaut_rgba.png", "coffee_la.png", "chelsea_palette_trns.png", "astronaut_gray16.png", "chelsea_gray16_interlaced.png"];

    public static TheoryData<string> Images => ImageFixtures.ImageFiles();

    public static TheoryData<string> ExactAsMLImage => new(ImageFixtures.Instance.Images.Select(i => i.File).Except(NotExactAsMLImage));

    [Theory]
    [MemberData(nameof(Images))]
    public void Decoding_a_file_gives_Pillows_convert_RGB_pixels_exactly(string file)
    {
        var fixture = ImageFixtures.Instance.Image(file);

        var image = ImageDecoder.DecodeFile(fixture.FullPath);

        Assert.Equal((fixture.Width, fixture.Height), (image.Width, image.Height));
        Assert.Equal(fixture.DecodedSha256, ImageFixtures.Sha256(image.Pixels));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Decoding_bytes_gives_Pillows_convert_RGB_pixels_exactly(string file)
    {
        var fixture = ImageFixtures.Instance.Image(file);

        var image = ImageDecoder.Decode(File.ReadAllBytes(fixture.FullPath), "bytes of " + file);

        Assert.Equal((fixture.Width, fixture.Height), (image.Width, image.Height));
        Assert.Equal(fixture.DecodedSha256, ImageFixtures.Sha256(image.Pixels));
    }

    [Fact]
    public void Exif_orientation_is_not_applied_because_torchvision_applies_none()
    {
        var image = ImageDecoder.DecodeFile(ImageFixtures.PathOf("coffee_exif_rotate6.jpg"));

        Assert.Equal((320, 240), (image.Width, image.Height));
    }

    [Theory]
    [MemberData(nameof(ExactAsMLImage))]
    public void MLImage_of_an_opaque_8_bit_image_gives_the_same_pixels_as_the_file(string file)
    {
        var fixture = ImageFixtures.Instance.Image(file);
        using var mlImage = MLImage.CreateFromFile(fixture.FullPath);

        var image = ImageDecoder.FromMLImage(mlImage, file);

        Assert.Equal(ImageDecoder.DecodeFile(fixture.FullPath).Pixels, image.Pixels);
    }

    /// <summary>
    /// MLImage premultiplies colours by alpha when it decodes. Unpremultiplying recovers a colour
    /// to within about 255 / (2 * alpha) (the premultiplied value was rounded to an integer), and
    /// cannot recover it at all where alpha is 0: those pixels come out black.
    /// </summary>
    [Fact]
    public void MLImage_with_alpha_recovers_colours_only_to_within_the_premultiplied_rounding()
    {
        var path = ImageFixtures.PathOf("astronaut_rgba.png");
        using var mlImage = MLImage.CreateFromFile(path);
        var alpha = AlphaOf(mlImage);

        var recovered = ImageDecoder.FromMLImage(mlImage, "astronaut_rgba.png").Pixels;

        var exact = ImageDecoder.DecodeFile(path).Pixels;
        for (var i = 0; i < exact.Length; i++)
        {
            var a = alpha[i / 3];
            if (a == 0)
            {
                Assert.Equal(0, recovered[i]);
            }
            else
            {
                Assert.True(Math.Abs(recovered[i] - exact[i]) <= (255 / (2 * a)) + 1, $"byte {i}: {recovered[i]} for {exact[i]} at alpha {a}");
            }
        }
    }

    /// <summary>
    /// Pillow clamps 16-bit grayscale samples at 255, so such photos turn mostly white; MLImage
    /// (Skia) keeps each sample's high byte instead, and the low byte is gone.
    /// </summary>
    [Fact]
    public void MLImage_of_a_16_bit_grayscale_png_keeps_high_bytes_not_Pillows_clamped_samples()
    {
        var path = ImageFixtures.PathOf("astronaut_gray16.png");
        using var mlImage = MLImage.CreateFromFile(path);

        var fromMLImage = ImageDecoder.FromMLImage(mlImage, "astronaut_gray16.png").Pixels;

        var pillow = ImageDecoder.DecodeFile(path).Pixels;
        Assert.Equal(ImageFixtures.Instance.Image("astronaut_gray16.png").DecodedSha256, ImageFixtures.Sha256(pillow));
        Assert.Equal(53_520, ImageFixtures.DifferingPixels(pillow, fromMLImage));
    }

    [Fact]
    public void MLImage_in_RGBA_order_is_read_as_RGBA()
    {
        byte[] rgba = [10, 20, 30, 255, 40, 50, 60, 255];
        using var mlImage = MLImage.CreateFromPixels(2, 1, MLPixelFormat.Rgba32, rgba);

        var image = ImageDecoder.FromMLImage(mlImage, "two pixels");

        Assert.Equal([10, 20, 30, 40, 50, 60], image.Pixels);
    }

    [Fact]
    public void MLImage_in_BGRA_order_is_read_as_BGRA()
    {
        byte[] bgra = [10, 20, 30, 255, 40, 50, 60, 128];
        using var mlImage = MLImage.CreateFromPixels(2, 1, MLPixelFormat.Bgra32, bgra);

        var image = ImageDecoder.FromMLImage(mlImage, "two pixels");

        // The second pixel is premultiplied at alpha 128: round(c * 255 / 128).
        Assert.Equal([30, 20, 10, 120, 100, 80], image.Pixels);
    }

    [Fact]
    public void Empty_bytes_are_refused_naming_the_source()
    {
        var error = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode([], "image bytes in row 12"));

        Assert.Equal("image bytes in row 12", error.ImageSource);
        Assert.Equal("Cannot decode image 'image bytes in row 12': the image is empty (0 bytes).", error.Message);
    }

    [Fact]
    public void Random_bytes_are_refused_as_an_unknown_format()
    {
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);

        var error = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(bytes, "row 3"));

        Assert.StartsWith("Cannot decode image 'row 3': it is not in a format that can be decoded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_file_is_refused_naming_the_file()
    {
        using var text = new TemporaryFile("just some words, not an image\n"u8.ToArray(), "notes.jpg");

        var error = Assert.Throws<InvalidImageException>(() => ImageDecoder.DecodeFile(text.Path));

        Assert.Equal(text.Path, error.ImageSource);
        Assert.Contains("not in a format that can be decoded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_file_is_refused()
    {
        using var empty = new TemporaryFile([], "empty.png");

        var error = Assert.Throws<InvalidImageException>(() => ImageDecoder.DecodeFile(empty.Path));

        Assert.Equal($"Cannot decode image '{empty.Path}': the file is empty.", error.Message);
    }

    [Fact]
    public void A_missing_file_is_FileNotFoundException_naming_the_path()
    {
        var path = Path.Combine(ImageFixtures.Directory, "no-such-image.jpg");

        var error = Assert.Throws<FileNotFoundException>(() => ImageDecoder.DecodeFile(path));

        Assert.Equal(path, error.FileName);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    /// <summary>Pillow raises "image file is truncated" here; Skia would fill the rest with gray.</summary>
    [Theory]
    [InlineData("rocket.jpg", 20_000)]
    [InlineData("chelsea_progressive.jpg", 10_000)]
    [InlineData("coffee_palette.png", 30_000)]
    public void A_truncated_image_is_refused_not_decoded_in_part(string file, int keptBytes)
    {
        var bytes = File.ReadAllBytes(ImageFixtures.PathOf(file)).AsSpan(0, keptBytes).ToArray();

        var error = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(bytes, file));

        Assert.Matches("the data ends before the image does|the image data is corrupt", error.Reason);
    }

    [Fact]
    public void A_truncated_header_is_refused()
    {
        var bytes = File.ReadAllBytes(ImageFixtures.PathOf("rocket.jpg")).AsSpan(0, 300).ToArray();

        var error = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(bytes, "rocket.jpg"));

        Assert.Equal("the data ends inside the image header (truncated)", error.Reason);
    }

    /// <summary>A decompression bomb: the header says 12000x9000 (108 megapixels); nothing is decoded.</summary>
    [Fact]
    public void An_image_over_100_megapixels_is_refused_from_its_header()
    {
        var bytes = File.ReadAllBytes(ImageFixtures.PathOf("rocket.jpg"));
        SetJpegSize(bytes, 12_000, 9_000);

        var error = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(bytes, "bomb.jpg"));

        Assert.Equal("it is 12000x9000, 108000000 pixels, more than the limit of 100000000", error.Reason);
    }

    /// <summary>A PNG header that says 20000x20000 (400 megapixels) in front of almost no data.</summary>
    [Fact]
    public void A_png_over_100_megapixels_is_refused_from_its_header()
    {
        byte[] png =
        [
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A,
            0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20, 8, 2, 0, 0, 0, 0x6C, 0x12, 0xD1, 0x6E,
            0, 0, 0, 9, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x5E, 0xFF, 0x7D, 0xF9,
            0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
        ];

        var error = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(png, "bomb.png"));

        Assert.Equal("it is 20000x20000, 400000000 pixels, more than the limit of 100000000", error.Reason);
    }

    private static byte[] AlphaOf(MLImage image)
    {
        var pixels = image.Pixels;
        var alpha = new byte[pixels.Length / 4];
        for (var i = 0; i < alpha.Length; i++)
        {
            alpha[i] = pixels[(4 * i) + 3];
        }

        return alpha;
    }

    /// <summary>Rewrites the size in a JPEG's start-of-frame segment (SOF0 or SOF2).</summary>
    private static void SetJpegSize(byte[] jpeg, int width, int height)
    {
        for (var i = 2; i + 9 < jpeg.Length; i++)
        {
            if (jpeg[i] == 0xFF && (jpeg[i + 1] == 0xC0 || jpeg[i + 1] == 0xC2))
            {
                jpeg[i + 5] = (byte)(height >> 8);
                jpeg[i + 6] = (byte)height;
                jpeg[i + 7] = (byte)(width >> 8);
                jpeg[i + 8] = (byte)width;
                return;
            }
        }

        Assert.Fail("No start-of-frame segment.");
    }
}
