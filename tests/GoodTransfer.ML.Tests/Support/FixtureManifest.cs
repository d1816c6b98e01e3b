using System.Text.Json;
using System.Text.Json.Serialization;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>The checkpoints, inputs and PyTorch reference outputs made by Fixtures/generate_fixtures.py.</summary>
public sealed class FixtureManifest
{
    private static readonly Lazy<FixtureManifest> Loaded = new(() => Load(Path.Combine(FixtureDirectory, "manifest.json")));

    public static string FixtureDirectory => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static FixtureManifest Instance => Loaded.Value;

    [JsonPropertyName("input")]
    public required InputFixture Input { get; init; }

    [JsonPropertyName("models")]
    public required Dictionary<string, ModelFixture> Models { get; init; }

    [JsonPropertyName("checkpoints")]
    public required List<CheckpointFixture> Checkpoints { get; init; }

    public static string PathOf(string relative) => Path.Combine(FixtureDirectory, relative);

    public CheckpointFixture Checkpoint(string file) =>
        Checkpoints.Single(c => c.File == file || Path.GetFileName(c.File) == file);

    /// <summary>The fixed input batch as torchvision's ToTensor gives it: uint8 / 255 in float32.</summary>
    public float[] InputTensor()
    {
        var bytes = File.ReadAllBytes(PathOf(Input.File));
        return bytes.Select(b => b / 255f).ToArray();
    }

    public static float[] ReadFloats(string relative)
    {
        var bytes = File.ReadAllBytes(PathOf(relative));
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * 4);
        return values;
    }

    private static FixtureManifest Load(string path) =>
        JsonSerializer.Deserialize<FixtureManifest>(File.ReadAllText(path))
        ?? throw new InvalidDataException($"Empty fixture manifest '{path}'.");
}

public sealed class InputFixture
{
    [JsonPropertyName("file")]
    public required string File { get; init; }

    [JsonPropertyName("shape")]
    public required int[] Shape { get; init; }
}

public sealed class ModelFixture
{
    [JsonPropertyName("block")]
    public required string Block { get; init; }

    [JsonPropertyName("layers")]
    public required int[] Layers { get; init; }

    [JsonPropertyName("groups")]
    public int Groups { get; init; } = 1;

    [JsonPropertyName("stage_outputs")]
    public required int[] StageOutputs { get; init; }
}

public sealed class CheckpointFixture
{
    [JsonPropertyName("file")]
    public required string File { get; init; }

    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("container")]
    public required string Container { get; init; }

    [JsonPropertyName("description")]
    public string Description { get; init; } = string.Empty;

    [JsonPropertyName("references")]
    public required Dictionary<string, string> References { get; init; }

    [JsonPropertyName("kept_keys")]
    public int KeptKeys { get; init; }

    [JsonPropertyName("ignored_keys_include")]
    public List<string> IgnoredKeysInclude { get; init; } = [];

    public string FullPath => FixtureManifest.PathOf(File);

    public override string ToString() => Path.GetFileName(File);
}
