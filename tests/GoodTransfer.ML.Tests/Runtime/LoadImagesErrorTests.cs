using System.Buffers.Binary;
using System.IO.Compression;
using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Runtime;
using GoodTransfer.ML.Tests.Imaging;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>
/// With <c>LoadImages</c> in front, a file ML.NET cannot load fails like the featurizer's own inputs: every
/// good row before it is delivered, then an <see cref="InvalidImageException"/> names the row and the file.
/// </summary>
public sealed class LoadImagesErrorTests : IDisposable
{
    private readonly MLContext mlContext = new(seed: 1);
    private readonly TemporaryFile cache = new("unused");
    private readonly TemporaryFile folder = new("unused");

    /// <summary>Each bad file and what ML.NET's loading throws for it (the inner exception, as LoadImages itself would throw it).</summary>
    public static TheoryData<string, Type, string> BadFiles => new()
    {
        { "empty.jpg", typeof(ArgumentException), "Invalid input stream contents" },
        { "text.jpg", typeof(ArgumentException), "Invalid input stream contents" },
        { "huge.png", typeof(Exception), "Unable to allocate pixels for the bitmap." },
        { "folder.jpg", typeof(UnauthorizedAccessException), "Access to the path" },
        { "missing.jpg", typeof(FileNotFoundException), "Could not find file" },
    };

    public void Dispose()
    {
        cache.Dispose();
        folder.Dispose();
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Every_good_row_before_a_bad_file_is_delivered_and_the_error_names_the_row_and_the_file(string bad, Type loadError, string loadMessage)
    {
        var good = FeatureFixtures.Manifest.Images.Select(i => i.FullPath).Where(p => p.EndsWith(".jpg", StringComparison.Ordinal)).Take(3).ToList();
        var badPath = MakeBadFile(bad);
        var paths = new[] { good[0], good[1], good[2], badPath, good[0] };
        var data = FeatureFixtures.Paths(mlContext, paths);
        var pipeline = mlContext.Transforms.LoadImages("Image", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: new GoodTransferOptions { CacheDirectory = cache.Folder, BatchSize = 2 }));
        using var model = pipeline.Fit(FeatureFixtures.Paths(mlContext, good));
        var expected = FeatureFixtures.Column(model.Transform(FeatureFixtures.Paths(mlContext, good)), "Features");

        var delivered = new List<float[]>();
        var error = Assert.Throws<InvalidImageException>(() => Read(model.Transform(data), delivered));

        Assert.Equal(expected, delivered);
        Assert.Equal(badPath, error.ImageSource);
        Assert.StartsWith($"ML.NET's LoadImages cannot load it: {loadMessage}", error.Reason, StringComparison.Ordinal);
        Assert.IsType(loadError, error.InnerException?.InnerException);
        Assert.EndsWith("(row 3)", error.Reason, StringComparison.Ordinal);
        Assert.Contains(badPath, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_under_the_image_folder_is_named_with_the_folder()
    {
        var good = FeatureFixtures.Manifest.Images[0].FullPath;
        File.Copy(good, Path.Combine(folder.Folder, "good.jpg"));
        MakeBadFile("text.jpg");
        var data = FeatureFixtures.Paths(mlContext, ["good.jpg", "text.jpg"]);
        using var model = mlContext.Transforms.LoadImages("Image", folder.Folder, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: new GoodTransferOptions { CacheDirectory = cache.Folder }))
            .Fit(data);

        var delivered = new List<float[]>();
        var error = Assert.Throws<InvalidImageException>(() => Read(model.Transform(data), delivered));

        Assert.Single(delivered);
        Assert.Equal(Path.Combine(folder.Folder, "text.jpg"), error.ImageSource);
    }

    [Fact]
    public void Without_LoadImages_just_in_front_the_error_names_the_row_and_the_column()
    {
        var data = FeatureFixtures.Paths(mlContext, [FeatureFixtures.Manifest.Images[0].FullPath, MakeBadFile("empty.jpg")]);
        using var model = mlContext.Transforms.LoadImages("Loaded", null, "Path")
            .Append(mlContext.Transforms.CopyColumns("Image", "Loaded"))
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: new GoodTransferOptions { CacheDirectory = cache.Folder }))
            .Fit(data);

        var delivered = new List<float[]>();
        var error = Assert.Throws<InvalidImageException>(() => Read(model.Transform(data), delivered));

        Assert.Single(delivered);
        Assert.Equal("the image in column 'Image'", error.ImageSource);
        Assert.EndsWith("(row 1)", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_behind_LoadImages_decode_to_the_pixels_LoadImages_gives()
    {
        // Every fixture image, alpha and 16-bit ones included: the featurizer decodes the files behind LoadImages
        // itself (in parallel); with a CopyColumns in between it reads ML.NET's decoded images.
        var data = FeatureFixtures.Paths(mlContext, [.. FeatureFixtures.Manifest.Images.Select(i => i.FullPath), ""]);
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, BatchSize = 3 };
        var direct = mlContext.Transforms.LoadImages("Image", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: options));
        var copied = mlContext.Transforms.LoadImages("Loaded", null, "Path")
            .Append(mlContext.Transforms.CopyColumns("Image", "Loaded"))
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: options));
        using var fromFiles = direct.Fit(data);
        using var fromImages = copied.Fit(data);

        var viaFiles = new List<float[]>();
        var viaImages = new List<float[]>();
        var fileError = Assert.Throws<InvalidImageException>(() => Read(fromFiles.Transform(data), viaFiles));
        var imageError = Assert.Throws<InvalidImageException>(() => Read(fromImages.Transform(data), viaImages));

        Assert.Equal(FeatureFixtures.Manifest.Images.Count, viaFiles.Count);
        Assert.Equal(viaImages, viaFiles);
        Assert.Equal(imageError.Message, fileError.Message);
        Assert.StartsWith("the row holds no image (null)", fileError.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_JPEG_the_fast_decode_refuses_behind_LoadImages_gives_what_LoadImages_gives()
    {
        // The featurizer decodes a JPEG behind LoadImages with the path column's cheaper decode, which refuses a truncated
        // file as Pillow does; Skia (LoadImages) may decode such a file in part. Either way the two routes must agree.
        var whole = File.ReadAllBytes(ImageFixtures.PathOf("rocket.jpg"));
        var truncated = Path.Combine(folder.Folder, "truncated.jpg");
        File.WriteAllBytes(truncated, whole[..(whole.Length / 2)]);
        var good = FeatureFixtures.Manifest.Images[0].FullPath;
        var data = FeatureFixtures.Paths(mlContext, [good, truncated, good]);
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, BatchSize = 2 };
        using var fromFiles = mlContext.Transforms.LoadImages("Image", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: options)).Fit(FeatureFixtures.Paths(mlContext, [good]));
        using var fromImages = mlContext.Transforms.LoadImages("Loaded", null, "Path")
            .Append(mlContext.Transforms.CopyColumns("Image", "Loaded"))
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: options)).Fit(FeatureFixtures.Paths(mlContext, [good]));
        Assert.Throws<InvalidImageException>(() => ImageDecoder.DecodeFile(truncated));

        var viaFiles = new List<float[]>();
        var viaImages = new List<float[]>();
        var fileError = Record.Exception(() => Read(fromFiles.Transform(data), viaFiles));
        var imageError = Record.Exception(() => Read(fromImages.Transform(data), viaImages));

        Assert.Equal(imageError?.GetType(), fileError?.GetType());
        Assert.Equal(viaImages, viaFiles);
        Assert.True(viaFiles.Count >= 1);
    }

    [Fact]
    public void The_path_column_behind_LoadImages_is_found()
    {
        var data = FeatureFixtures.Paths(mlContext, [FeatureFixtures.Manifest.Images[0].FullPath]);

        var loaded = mlContext.Transforms.LoadImages("Image", folder.Folder, "Path").Fit(data).Transform(data);
        var copied = mlContext.Transforms.CopyColumns("Copy", "Image").Fit(loaded).Transform(loaded);

        // Pins the reflection into ML.NET's internals that LoadedImageSource relies on.
        Assert.Equal(new LoadedImageSource("Path", folder.Folder), LoadedImageSource.Find(loaded, "Image"));
        Assert.Null(LoadedImageSource.Find(copied, "Copy"));
        Assert.Null(LoadedImageSource.Find(data, "Path"));
    }

    private static void Read(IDataView view, List<float[]> delivered)
    {
        var column = view.Schema["Features"];
        using var cursor = view.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var value = default(VBuffer<float>);
        while (cursor.MoveNext())
        {
            getter(ref value);
            delivered.Add(value.DenseValues().ToArray());
        }
    }

    private string MakeBadFile(string name)
    {
        var path = Path.Combine(folder.Folder, name);
        switch (name)
        {
            case "empty.jpg":
                File.WriteAllBytes(path, []);
                break;
            case "text.jpg":
                File.WriteAllText(path, "not an image at all");
                break;
            case "huge.png":
                File.WriteAllBytes(path, PngHeader(100_000, 100_000));
                break;
            case "folder.jpg":
                Directory.CreateDirectory(path);
                break;
        }

        return path;
    }

    /// <summary>A PNG whose header claims <paramref name="width"/> x <paramref name="height"/> RGB pixels, with almost no data.</summary>
    private static byte[] PngHeader(int width, int height)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = 2;
        Chunk(png, "IHDR", header);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                zlib.Write(new byte[16]);
            }

            Chunk(png, "IDAT", compressed.ToArray());
        }

        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        png.Write(crc);
    }

    /// <summary>PNG's CRC-32 (ISO 3309, reflected polynomial 0xEDB88320) of a chunk's type and data.</summary>
    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
