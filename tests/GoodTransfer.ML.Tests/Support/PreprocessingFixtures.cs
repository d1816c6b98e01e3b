using System.Text.Json;
using System.Text.Json.Serialization;
using GoodTransfer.ML.Tests.Imaging;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// torchvision's crops and PyTorch's features under eval transforms other than ImageNet's default
/// (Fixtures/make_preprocessing_references.py, listed in Fixtures/images/preprocessing.json).
/// </summary>
public sealed class PreprocessingFixtures
{
    private static readonly Lazy<PreprocessingFixtures> Loaded = new(() =>
        JsonSerializer.Deserialize<PreprocessingFixtures>(File.ReadAllText(ImageFixtures.PathOf("preprocessing.json")))
        ?? throw new InvalidDataException("Empty preprocessing fixture manifest."));

    public static PreprocessingFixtures Instance => Loaded.Value;

    /// <summary>The checkpoint the features were computed with, relative to Fixtures/.</summary>
    [JsonPropertyName("checkpoint")]
    public required string Checkpoint { get; init; }

    [JsonPropertyName("transforms")]
    public required List<PreprocessingFixture> Transforms { get; init; }

    public static TheoryData<string> TransformNames() => new(Instance.Transforms.Select(t => t.Name));

    public static TheoryData<string, string> TransformsAndImages()
    {
        var data = new TheoryData<string, string>();
        foreach (var transform in Instance.Transforms)
        {
            foreach (var image in transform.Images)
            {
                data.Add(transform.Name, image.File);
            }
        }

        return data;
    }

    public PreprocessingFixture Transform(string name) => Transforms.Single(t => t.Name == name);
}

/// <summary>One eval transform and its references.</summary>
public sealed class PreprocessingFixture
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("resize")]
    public int Resize { get; init; }

    [JsonPropertyName("crop")]
    public int Crop { get; init; }

    [JsonPropertyName("mean")]
    public required float[] Mean { get; init; }

    [JsonPropertyName("std")]
    public required float[] Std { get; init; }

    [JsonPropertyName("images")]
    public required List<PreprocessedImage> Images { get; init; }

    public ImagePreprocessing Preprocessing => new(Resize, Crop, Mean, Std);

    public PreprocessedImage Image(string file) => Images.Single(i => i.File == file);

    public override string ToString() => Name;
}

/// <summary>One image under one transform: torchvision's crop and PyTorch's features.</summary>
public sealed class PreprocessedImage
{
    /// <summary>The image, relative to Fixtures/images/.</summary>
    [JsonPropertyName("file")]
    public required string File { get; init; }

    [JsonPropertyName("crop")]
    public required string Crop { get; init; }

    [JsonPropertyName("crop_sha256")]
    public required string CropSha256 { get; init; }

    [JsonPropertyName("features")]
    public required string Features { get; init; }

    public string FullPath => ImageFixtures.PathOf(File);

    public byte[] ReadCrop(int cropSize) => ImageFixtures.ReadCrop(Crop, CropSha256, cropSize);

    public float[] ReadFeatures() => FixtureManifest.ReadFloats(Path.Combine("images", Features));

    public override string ToString() => File;
}
