using System.Text.Json;

namespace GoodTransfer.ML.PackageTests.Support;

/// <summary>
/// The checkpoints, photos and PyTorch reference features of tests/GoodTransfer.ML.Tests/Fixtures, read where they
/// are: the fresh projects featurize the same photos with the checkpoint the references were computed with.
/// </summary>
public static class MainTestFixtures
{
    public static string PathOf(string relative) => Repository.PathOf(Path.Combine("tests", "GoodTransfer.ML.Tests", "Fixtures", relative));

    /// <summary>The MoCo v2-layout checkpoint of images/features.json.</summary>
    public static string FeatureCheckpoint => PathOf(FeatureManifest.RootElement.GetProperty("checkpoint").GetString()!);

    /// <summary>Photos that ML.NET's image type holds exactly, with PyTorch's features for them.</summary>
    public static IReadOnlyList<(string Image, float[] Reference)> Photos(int count) =>
        [.. FeatureManifest.RootElement.GetProperty("images").EnumerateArray()
            .Where(image => image.GetProperty("mlimage_exact").GetBoolean())
            .Take(count)
            .Select(image => (PathOf(image.GetProperty("file").GetString()!), ReadFloats(PathOf(image.GetProperty("reference").GetString()!))))];

    private static JsonDocument FeatureManifest => JsonDocument.Parse(File.ReadAllText(PathOf("images/features.json")));

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }
}
