using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Tests.Support;
using SkiaSharp;

namespace GoodTransfer.ML.Tests.Imaging;

/// <summary>
/// <see cref="TorchvisionTransform.FileToTensor"/> and <see cref="TorchvisionTransform.BytesToTensor"/>, which decode a
/// JPEG only where the resize reads, against <see cref="TorchvisionTransform.ToTensor(RgbImage, Span{float})"/> of the
/// whole decode: the same floats, the same exceptions. Fixtures/images/windows holds JPEGs of every subsampling,
/// grayscale, CMYK, progressive, restart intervals, arithmetic coding, odd, tall, wide and tiny sizes. Skia's window
/// decode is tested alone (<see cref="JpegDecoder.Skia"/>) where TurboJPEG would decode the whole image instead; the
/// truncated and corrupt JPEGs are held to Skia's whole decode, whichever decoder the window decode uses.
/// </summary>
public sealed class WindowDecodeTests
{
    private static readonly float[] HalfGray = [0.5f, 0.5f, 0.5f];

    /// <summary>ImageNet's sizes and others: a smaller crop, a crop of the whole shorter side, a crop larger than most fixtures.</summary>
    private static readonly TorchvisionTransform[] Transforms =
    [
        TorchvisionTransform.ImageNet,
        new(new ImagePreprocessing(160, 128, HalfGray, HalfGray)),
        new(new ImagePreprocessing(232, 224, HalfGray, HalfGray)),
        new(new ImagePreprocessing(300, 300, HalfGray, HalfGray)),
    ];

    public static TheoryData<string> Images => new(ImageFixtures.Instance.Images.Select(image => image.File).Concat(ImageFixtures.WindowJpegFiles()));

    public static TheoryData<string> Jpegs => new(ImageFixtures.JpegFiles());

    public static TheoryData<string> WindowJpegs => new(ImageFixtures.WindowJpegFiles());

    [Theory]
    [MemberData(nameof(Images))]
    public void The_tensor_is_the_tensor_of_the_whole_decode(string file)
    {
        var path = ImageFixtures.PathOf(file);
        var bytes = File.ReadAllBytes(path);
        foreach (var transform in Transforms)
        {
            var expected = new float[transform.TensorLength];
            transform.ToTensor(ImageDecoder.DecodeFile(path), expected);
            var fromFile = new float[transform.TensorLength];
            var fromBytes = new float[transform.TensorLength];

            transform.FileToTensor(path, fromFile);
            transform.BytesToTensor(bytes, file, fromBytes);

            Assert.True(expected.AsSpan().SequenceEqual(fromFile), $"FileToTensor, Resize({transform.ResizeSize}) CenterCrop({transform.CropSize})");
            Assert.True(expected.AsSpan().SequenceEqual(fromBytes), $"BytesToTensor, Resize({transform.ResizeSize}) CenterCrop({transform.CropSize})");
        }
    }

    /// <summary>
    /// The window really is decoded alone (no silent fallback to the whole image), and every pixel the resize reads in
    /// it, up to its edges, is the whole decode's.
    /// </summary>
    [Theory]
    [MemberData(nameof(WindowJpegs))]
    public void A_JPEG_window_holds_the_whole_decodes_pixels_wherever_the_resize_reads(string file)
    {
        var path = ImageFixtures.PathOf(file);
        var whole = ImageDecoder.DecodeFile(path);
        foreach (var transform in Transforms)
        {
            var (width, height) = transform.ResizedSize(whole.Width, whole.Height);
            var (left, top) = transform.CropOrigin(width, height);
            var (firstColumn, columns, firstRow, rows) = PillowResize.SourceBounds(whole.Width, whole.Height, width, height, left, top, transform.CropSize, transform.CropSize);
            using var image = EncodedImage.OpenFile(path, JpegDecoder.Skia);

            using var pixels = image.DecodeWindow(firstColumn, columns, firstRow, rows);

            var margin = EncodedImage.WindowMargin;
            var coversAll = firstColumn <= margin && firstRow <= margin && firstColumn + columns + margin >= whole.Width && firstRow + rows + margin >= whole.Height;
            Assert.Equal(coversAll, pixels.IsWholeImage);
            var window = pixels.Window;
            Assert.True(window.Contains(firstColumn, columns, firstRow, rows));
            for (var y = firstRow; y < firstRow + rows; y++)
            {
                for (var x = firstColumn; x < firstColumn + columns; x++)
                {
                    var decoded = window.Pixels.Slice(((y - window.Top) * window.Stride) + ((x - window.Left) * window.BytesPerPixel), 3);
                    var expected = whole.Pixels.AsSpan(((y * whole.Width) + x) * 3, 3);
                    Assert.True(expected.SequenceEqual(decoded), $"pixel ({x}, {y}) of the window {window.Width}x{window.Height} at ({window.Left}, {window.Top}), Resize({transform.ResizeSize})");
                }
            }
        }
    }

    [Fact]
    public void Most_window_fixtures_are_decoded_in_part()
    {
        var partial = ImageFixtures.WindowJpegFiles().Count(file =>
        {
            using var image = EncodedImage.OpenFile(ImageFixtures.PathOf(file), JpegDecoder.Skia);
            var (width, height) = TorchvisionTransform.ImageNet.ResizedSize(image.Width, image.Height);
            var (left, top) = TorchvisionTransform.ImageNet.CropOrigin(width, height);
            var (firstColumn, columns, firstRow, rows) = PillowResize.SourceBounds(image.Width, image.Height, width, height, left, top, 224, 224);
            using var pixels = image.DecodeWindow(firstColumn, columns, firstRow, rows);
            return !pixels.IsWholeImage;
        });

        Assert.True(partial >= 15, $"{partial} of {ImageFixtures.WindowJpegFiles().Count()} window fixtures decoded in part");
    }

    /// <summary>
    /// Cut short anywhere, or with bytes overwritten anywhere after the header: the window decode refuses what the whole
    /// decode refuses, with its message, and otherwise gives its floats. Skipping the rows after the window does not notice
    /// missing data; decoding the image's last row does.
    /// </summary>
    [Theory]
    [MemberData(nameof(Jpegs))]
    public void A_truncated_or_corrupt_JPEG_gives_what_the_whole_decode_gives(string file)
    {
        var bytes = File.ReadAllBytes(ImageFixtures.PathOf(file));
        var random = new Random(bytes.Length);
        var refused = 0;
        for (var cut = 1; cut <= 24; cut++)
        {
            refused += SameOutcome(bytes.AsSpan(0, bytes.Length * cut / 25).ToArray(), $"{file} cut at {bytes.Length * cut / 25}") ? 1 : 0;
        }

        for (var trial = 0; trial < 16; trial++)
        {
            var corrupt = bytes.ToArray();
            var at = random.Next(bytes.Length / 8, bytes.Length - 2);
            corrupt[at] ^= (byte)random.Next(1, 256);
            corrupt[at + 1] ^= (byte)random.Next(0, 256);
            SameOutcome(corrupt, $"{file} corrupt at {at}");
        }

        Assert.True(refused >= 20, $"only {refused} of 24 truncations of {file} were refused");
    }

    [Fact]
    public void FileToTensor_refuses_what_DecodeFile_refuses_with_the_same_exceptions()
    {
        using var empty = new TemporaryFile([], "empty.jpg");
        using var text = new TemporaryFile("just some words, not an image\n"u8.ToArray(), "notes.jpg");
        using var header = new TemporaryFile(File.ReadAllBytes(ImageFixtures.PathOf("rocket.jpg")).AsSpan(0, 300).ToArray(), "header.jpg");
        using var truncated = new TemporaryFile(File.ReadAllBytes(ImageFixtures.PathOf("rocket.jpg")).AsSpan(0, 20_000).ToArray(), "truncated.jpg");
        var missing = Path.Combine(empty.Folder, "no-such-image.jpg");
        var tensor = new float[TorchvisionTransform.ImageNet.TensorLength];

        foreach (var path in new[] { missing, empty.Path, text.Path, header.Path, truncated.Path })
        {
            var expected = Record.Exception(() => TorchvisionTransform.ImageNet.ToTensor(ImageDecoder.DecodeFile(path), tensor));
            var actual = Record.Exception(() => TorchvisionTransform.ImageNet.FileToTensor(path, tensor));

            Assert.NotNull(expected);
            Assert.NotNull(actual);
            Assert.Equal(expected.GetType(), actual.GetType());
            Assert.Equal(expected.Message, actual.Message);
        }
    }

    [Fact]
    public void BytesToTensor_refuses_what_Decode_refuses_with_the_same_exceptions()
    {
        var noise = new byte[4096];
        new Random(7).NextBytes(noise);
        var tensor = new float[TorchvisionTransform.ImageNet.TensorLength];

        foreach (var bytes in new[] { [], noise, File.ReadAllBytes(ImageFixtures.PathOf("chelsea_progressive.jpg")).AsSpan(0, 10_000).ToArray() })
        {
            var expected = Record.Exception(() => TorchvisionTransform.ImageNet.ToTensor(ImageDecoder.Decode(bytes, "row 3"), tensor));
            var actual = Record.Exception(() => TorchvisionTransform.ImageNet.BytesToTensor(bytes, "row 3", tensor));

            Assert.IsType<InvalidImageException>(expected);
            Assert.IsType<InvalidImageException>(actual);
            Assert.Equal(expected.Message, actual.Message);
        }
    }

    /// <summary>Decoded first, as ToTensor(DecodeFile(...)) does, then refused for its size.</summary>
    [Fact]
    public void An_image_too_elongated_for_Pillow_is_decoded_then_refused_as_ToTensor_refuses_it()
    {
        using var bitmap = new SKBitmap(600_000, 1);
        bitmap.Erase(SKColors.Gray);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var transform = new TorchvisionTransform(new ImagePreprocessing(4096, 1, HalfGray, HalfGray));
        var tensor = new float[transform.TensorLength];

        var expected = Assert.Throws<ArgumentException>(() => transform.ToTensor(ImageDecoder.Decode(png.AsSpan(), "long"), tensor));
        var actual = Assert.Throws<ArgumentException>(() => transform.BytesToTensor(png.AsSpan(), "long", tensor));

        Assert.Contains("too elongated", actual.Message, StringComparison.Ordinal);
        Assert.Equal(expected.Message, actual.Message);
    }

    [Fact]
    public void A_destination_too_small_is_refused_before_the_image_is_read()
    {
        var error = Assert.Throws<ArgumentException>(() => TorchvisionTransform.ImageNet.FileToTensor("no-such-image.jpg", new float[10]));

        Assert.Equal("destination", error.ParamName);
    }

    /// <summary>
    /// Whether the decodes refused the bytes; fails the test where the window decode's outcome differs from the whole
    /// decode's with the same decoder, or where TurboJPEG and Skia differ in refusing. Their pixels may differ on a corrupt
    /// JPEG that decodes without a warning (Skia's C IDCT and TurboJPEG's SIMD one part where corrupt coefficients
    /// overflow; TurboJPEG gives Pillow's pixels there: 257 of 257 such corruptions of these fixtures, checked with Pillow).
    /// </summary>
    private static bool SameOutcome(byte[] encoded, string what)
    {
        var skia = WindowAndWholeOutcome(encoded, what, JpegDecoder.Skia);
        var fastest = WindowAndWholeOutcome(encoded, what, JpegDecoder.Fastest);
        Assert.True(skia == fastest, $"{what}: Skia gave '{skia}', TurboJPEG '{fastest}'");
        return skia is not null;
    }

    /// <summary>The error message of both decodes with <paramref name="decoder"/>, or null where both give the same tensor.</summary>
    private static string? WindowAndWholeOutcome(byte[] encoded, string what, JpegDecoder decoder)
    {
        var transform = TorchvisionTransform.ImageNet;
        var expected = new float[transform.TensorLength];
        var actual = new float[transform.TensorLength];

        var expectedError = Record.Exception(() =>
        {
            using var image = EncodedImage.Open(encoded, "bytes", decoder);
            transform.ToTensor(image.Decode(), expected);
        });
        var actualError = Record.Exception(() =>
        {
            using var image = EncodedImage.Open(encoded, "bytes", decoder);
            transform.ToTensor(image, actual);
        });

        Assert.True(expectedError?.Message == actualError?.Message, $"{what}, {decoder}: the whole decode gave '{expectedError?.Message}', the window decode '{actualError?.Message}'");
        Assert.Equal(expectedError?.GetType(), actualError?.GetType());
        if (expectedError is null)
        {
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{what}, {decoder}: the tensors differ");
        }

        return expectedError?.Message;
    }
}
