using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>Real JPEG and PNG files with PyTorch's features for them (Fixtures/make_feature_references.py).</summary>
public static class FeatureFixtures
{
    private static readonly Lazy<FeatureManifest> Loaded = new(() =>
        JsonSerializer.Deserialize<FeatureManifest>(File.ReadAllText(FixtureManifest.PathOf("images/features.json")))!);

    public static FeatureManifest Manifest => Loaded.Value;

    /// <summary>The MoCo v2-layout checkpoint the references were computed with.</summary>
    public static Backbone Backbone => Backbone.FromFile(FixtureManifest.PathOf(Manifest.Checkpoint));

    public static IDataView Paths(MLContext mlContext, IEnumerable<string> paths) =>
        mlContext.Data.LoadFromEnumerable(paths.Select(p => new PathRow { Path = p }).ToArray());

    /// <summary>Reads one float vector column of every row.</summary>
    public static List<float[]> Column(IDataView data, string name)
    {
        var column = data.Schema[name];
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var value = default(VBuffer<float>);
        var rows = new List<float[]>();
        while (cursor.MoveNext())
        {
            getter(ref value);
            rows.Add(value.DenseValues().ToArray());
        }

        return rows;
    }

    /// <summary>Features that are numbers and equal <paramref name="expected"/> bit for bit, row by row.</summary>
    public static void AssertSameBits(IReadOnlyList<float[]> expected, IReadOnlyList<float[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.All(actual, row => Assert.DoesNotContain(row, float.IsNaN));
        Assert.Equal(expected.Select(Bits), actual.Select(Bits));

        static int[] Bits(float[] row) => [.. row.Select(BitConverter.SingleToInt32Bits)];
    }

    /// <summary>Saves the model, loads it back in this process and returns the loaded model's features of <paramref name="data"/>.</summary>
    public static List<float[]> FeaturesAfterSaveAndLoad(MLContext mlContext, ITransformer model, IDataView data, string column = "Features")
    {
        using var saved = new TemporaryFile("model.zip");
        mlContext.Model.Save(model, data.Schema, saved.Path);
        var loaded = mlContext.Model.Load(saved.Path, out _);
        try
        {
            return Column(loaded.Transform(data), column);
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    public sealed class FeatureManifest
    {
        [JsonPropertyName("checkpoint")]
        public required string Checkpoint { get; init; }

        [JsonPropertyName("images")]
        public required List<FeatureImage> Images { get; init; }
    }

    public sealed class FeatureImage
    {
        [JsonPropertyName("file")]
        public required string File { get; init; }

        [JsonPropertyName("reference")]
        public required string Reference { get; init; }

        [JsonPropertyName("mode")]
        public required string Mode { get; init; }

        /// <summary>Whether ML.NET's MLImage holds this image exactly (it premultiplies alpha and keeps 8 bits per channel).</summary>
        [JsonPropertyName("mlimage_exact")]
        public bool MLImageExact { get; init; }

        public string FullPath => FixtureManifest.PathOf(File);

        public override string ToString() => System.IO.Path.GetFileName(File);
    }

    public sealed class PathRow
    {
        public string Path { get; set; } = string.Empty;
    }

    public sealed class BytesRow
    {
        [VectorType]
        public byte[] Bytes { get; set; } = [];
    }
}
