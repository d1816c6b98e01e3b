using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Imaging;

/// <summary>The images and Pillow references made by Fixtures/images/generate_images.py.</summary>
public sealed class ImageFixtures
{
    private static readonly Lazy<ImageFixtures> Loaded = new(() =>
        JsonSerializer.Deserialize<ImageFixtures>(File.ReadAllText(PathOf("manifest.json")))
        ?? throw new InvalidDataException("Empty image fixture manifest."));

    public static ImageFixtures Instance => Loaded.Value;

    public static string Directory => Path.Combine(FixtureManifest.FixtureDirectory, "images");

    [JsonPropertyName("images")]
    public required List<ImageFixture> Images { get; init; }

    [JsonPropertyName("resize_cases")]
    public required List<ResizeCase> ResizeCases { get; init; }

    [JsonPropertyName("transform_cases")]
    public required List<TransformCase> TransformCases { get; init; }

    public static string PathOf(string relative) => Path.Combine(Directory, relative);

    public static TheoryData<string> ImageFiles() => new(Instance.Images.Select(i => i.File));

    /// <summary>The JPEGs of Fixtures/images/windows (every subsampling, progressive, arithmetic, CMYK, odd sizes), as "windows/NAME.jpg".</summary>
    public static IEnumerable<string> WindowJpegFiles() =>
        System.IO.Directory.GetFiles(PathOf("windows"), "*.jpg").Order(StringComparer.Ordinal).Select(path => "windows/" + Path.GetFileName(path));

    /// <summary>Every JPEG fixture: the manifest's, then <see cref="WindowJpegFiles"/>.</summary>
    public static IEnumerable<string> JpegFiles() =>
        Instance.Images.Select(image => image.File).Where(file => file.EndsWith(".jpg", StringComparison.Ordinal)).Concat(WindowJpegFiles());

    public ImageFixture Image(string file) => Images.Single(i => i.File == file);

    /// <summary>Pillow's <paramref name="cropSize"/> x <paramref name="cropSize"/> x 3 crop (224 by default); the file stores each row minus the row above (mod 256), gzipped.</summary>
    public static byte[] ReadCrop(string relative, string sha256, int cropSize = 224)
    {
        using var gzip = new GZipStream(File.OpenRead(PathOf(relative)), CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        var crop = bytes.ToArray();
        var rowBytes = cropSize * 3;
        Assert.Equal(rowBytes * cropSize, crop.Length);
        for (var i = rowBytes; i < crop.Length; i++)
        {
            crop[i] = (byte)(crop[i] + crop[i - rowBytes]);
        }

        Assert.Equal(sha256, Sha256(crop));
        return crop;
    }

    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Largest absolute difference between two byte arrays of the same length.</summary>
    public static int MaxAbsDiff(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var max = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            max = Math.Max(max, Math.Abs(expected[i] - actual[i]));
        }

        return max;
    }

    /// <summary>How many pixels (3 bytes each) differ at all.</summary>
    public static int DifferingPixels(byte[] expected, byte[] actual)
    {
        var count = 0;
        for (var i = 0; i < expected.Length; i += 3)
        {
            if (expected[i] != actual[i] || expected[i + 1] != actual[i + 1] || expected[i + 2] != actual[i + 2])
            {
                count++;
            }
        }

        return count;
    }
}

public sealed class ImageFixture
{
    [JsonPropertyName("file")]
    public required string File { get; init; }

    [JsonPropertyName("width")]
    public int Width { get; init; }

    [JsonPropertyName("height")]
    public int Height { get; init; }

    [JsonPropertyName("mode")]
    public required string Mode { get; init; }

    [JsonPropertyName("decoded_sha256")]
    public required string DecodedSha256 { get; init; }

    [JsonPropertyName("crop")]
    public required string Crop { get; init; }

    [JsonPropertyName("crop_sha256")]
    public required string CropSha256 { get; init; }

    [JsonPropertyName("notes")]
    public string Notes { get; init; } = string.Empty;

    public string FullPath => ImageFixtures.PathOf(File);

    public byte[] ReadCrop() => ImageFixtures.ReadCrop(Crop, CropSha256);

    public override string ToString() => File;
}

public sealed class TransformCase
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("width")]
    public int Width { get; init; }

    [JsonPropertyName("height")]
    public int Height { get; init; }

    [JsonPropertyName("input")]
    public required string Input { get; init; }

    [JsonPropertyName("crop")]
    public required string Crop { get; init; }

    [JsonPropertyName("crop_sha256")]
    public required string CropSha256 { get; init; }

    internal RgbImage ReadInput() => new(Width, Height, File.ReadAllBytes(ImageFixtures.PathOf(Input)));

    public byte[] ReadCrop() => ImageFixtures.ReadCrop(Crop, CropSha256);

    public override string ToString() => Name;
}

public sealed class ResizeCase
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("width")]
    public int Width { get; init; }

    [JsonPropertyName("height")]
    public int Height { get; init; }

    [JsonPropertyName("out_width")]
    public int OutWidth { get; init; }

    [JsonPropertyName("out_height")]
    public int OutHeight { get; init; }

    [JsonPropertyName("input")]
    public required string Input { get; init; }

    [JsonPropertyName("output")]
    public required string Output { get; init; }

    internal RgbImage ReadInput() => new(Width, Height, File.ReadAllBytes(ImageFixtures.PathOf(Input)));

    public byte[] ReadOutput() => File.ReadAllBytes(ImageFixtures.PathOf(Output));

    public override string ToString() => Name;
}
