using GoodTransfer.ML.Imaging;

namespace GoodTransfer.ML.Tests.Imaging;

/// <summary>
/// The system's TurboJPEG (<see cref="TurboJpeg"/>) against Skia and Pillow: the same pixels for every JPEG fixture it
/// decodes, Skia's decode for the ones it declines (CMYK), and Skia's outcome for truncated and corrupt ones
/// (<see cref="WindowDecodeTests"/>). <c>.ci/run</c> installs Debian's <c>libturbojpeg0</c>: without it the first test fails.
/// </summary>
public sealed class TurboJpegTests
{
    public static TheoryData<string> Jpegs => new(ImageFixtures.JpegFiles());

    public static TheoryData<string> JpegsWithPillowPixels => new(ImageFixtures.JpegFiles().Where(file => !file.StartsWith("windows/", StringComparison.Ordinal)));

    [Fact]
    public void TurboJpeg_is_loaded_and_passed_its_self_check()
    {
        Assert.True(TurboJpeg.IsAvailable, $"JPEGs are decoded by {TurboJpeg.Status}; install libjpeg-turbo's TurboJPEG library (Debian: apt-get install libturbojpeg0)");
        Assert.StartsWith("TurboJPEG (", TurboJpeg.Status, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Jpegs))]
    public void A_JPEG_decodes_to_Skias_pixels_or_is_declined_only_when_CMYK(string file)
    {
        Assert.True(TurboJpeg.IsAvailable, TurboJpeg.Status);
        var bytes = File.ReadAllBytes(ImageFixtures.PathOf(file));
        using var skia = EncodedImage.Open(bytes, file, JpegDecoder.Skia);
        var expected = skia.Decode();
        using var fastest = EncodedImage.Open(bytes, file);

        using var decoded = fastest.DecodeWindow(0, fastest.Width, 0, fastest.Height);

        var turboDecoded = decoded.Window.BytesPerPixel == 3;
        Assert.Equal(!file.Contains("cmyk", StringComparison.Ordinal), turboDecoded);
        for (var y = 0; y < expected.Height; y++)
        {
            var row = decoded.Window.Pixels.Slice(y * decoded.Window.Stride, expected.Width * decoded.Window.BytesPerPixel);
            var expectedRow = expected.Pixels.AsSpan(y * expected.Stride, expected.Width * 3);
            for (var x = 0; x < expected.Width; x++)
            {
                Assert.True(expectedRow.Slice(x * 3, 3).SequenceEqual(row.Slice(x * decoded.Window.BytesPerPixel, 3)), $"{file}: pixel ({x}, {y})");
            }
        }
    }

    /// <summary>Both decoders held to Pillow's <c>convert('RGB')</c> on their own (ImageDecoderTests holds the default, TurboJPEG).</summary>
    [Theory]
    [MemberData(nameof(JpegsWithPillowPixels))]
    public void Skia_alone_also_gives_Pillows_pixels(string file)
    {
        var fixture = ImageFixtures.Instance.Image(file);
        using var image = EncodedImage.OpenFile(fixture.FullPath, JpegDecoder.Skia);

        Assert.Equal(fixture.DecodedSha256, ImageFixtures.Sha256(image.Decode().Pixels));
    }

    [Fact]
    public void Concurrent_decodes_each_give_their_own_images_pixels()
    {
        var files = ImageFixtures.JpegFiles().Where(file => !file.Contains("cmyk", StringComparison.Ordinal)).ToArray();
        var expected = files.Select(file => ImageFixtures.Sha256(ImageDecoder.DecodeFile(ImageFixtures.PathOf(file)).Pixels)).ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();

        Parallel.For(0, files.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var file = files[i % files.Length];
            var bytes = File.ReadAllBytes(ImageFixtures.PathOf(file));
            if (ImageFixtures.Sha256(ImageDecoder.Decode(bytes, file).Pixels) != expected[i % files.Length])
            {
                failures.Add(file);
            }
        });

        Assert.Empty(failures);
    }

    [Fact]
    public void Off_in_the_environment_variable_keeps_Skia_and_says_so()
    {
        var (library, status) = TurboJpeg.Load("off");

        Assert.Equal(IntPtr.Zero, library);
        Assert.Equal("Skia (TurboJPEG turned off by GOODTRANSFER_TURBOJPEG=off)", status);
    }

    [Fact]
    public void A_library_that_cannot_be_loaded_keeps_Skia_and_names_the_setting()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-folder", "libturbojpeg.so.0");

        var (library, status) = TurboJpeg.Load(missing);

        Assert.Equal(IntPtr.Zero, library);
        Assert.Equal($"Skia (GOODTRANSFER_TURBOJPEG={missing} could not be loaded)", status);
    }
}
