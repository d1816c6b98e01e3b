using System.Runtime.ExceptionServices;
using System.Text.Json.Serialization;
using Parquet;
using Parquet.Serialization;
using Parquet.Serialization.Attributes;

namespace GoodTransfer.ML.FeatureFiles;

/// <summary>Feature files in Parquet, through Parquet.Net's serializer: <c>path</c>, <c>label</c> (when any row has one), <c>features</c> as a LIST of float32.</summary>
internal static class ParquetFeatures
{
    private static readonly ParquetOptions Options = new() { CompressionMethod = CompressionMethod.Snappy };

    public static void Write(Stream stream, FeatureFileMetadata metadata, IReadOnlyList<FeatureRow> rows)
    {
        var pairs = MetadataKeys.ToPairs(metadata).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

        // Parquet.Net's API is asynchronous only; the file stream underneath is synchronous, so nothing waits on a
        // context here, and the pool thread keeps a caller's synchronization context out of it.
        try
        {
            Task.Run(() => rows.Any(r => r.Label is not null)
                    ? ParquetSerializer.SerializeAsync(rows.Select(r => new LabelledRecord { Path = r.Path, Label = r.Label, Features = r.Features }), stream, Options, pairs)
                    : ParquetSerializer.SerializeAsync(rows.Select(r => new UnlabelledRecord { Path = r.Path, Features = r.Features }), stream, Options, pairs))
                .GetAwaiter().GetResult();
        }
        catch (ApplicationException e) when (e.InnerException is { } cause)
        {
            // Parquet.Net wraps what failed under it ("failed to serialise data column 'path'"): the disk's or the rows' own exception says more.
            ExceptionDispatchInfo.Capture(cause).Throw();
        }
    }

    public static FeatureContent Read(string path, bool metadataOnly)
    {
        try
        {
            return Task.Run(() => ReadAsync(path, metadataOnly)).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is ParquetException or IOException or InvalidOperationException or NotSupportedException or ArgumentException or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"'{path}' is not a readable Parquet feature file: {e.Message}", e);
        }
    }

    private static async Task<FeatureContent> ReadAsync(string path, bool metadataOnly)
    {
        await using var stream = File.OpenRead(path);
        FeatureFileMetadata metadata;
        bool hasLabels;
        await using (var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true).ConfigureAwait(false))
        {
            metadata = MetadataKeys.FromPairs(reader.CustomMetadata, path);
            var columns = reader.Schema.Fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var required in (string[])[Columns.Path, Columns.Features])
            {
                if (!columns.Contains(required))
                {
                    throw new InvalidDataException($"Feature file '{path}' has no '{required}' column (its columns: {string.Join(", ", columns)}).");
                }
            }

            hasLabels = columns.Contains(Columns.Label);
        }

        if (metadataOnly)
        {
            return new FeatureContent(metadata, [], hasLabels);
        }

        stream.Position = 0;
        List<FeatureRow> rows;
        if (hasLabels)
        {
            var records = await ParquetSerializer.DeserializeAsync<LabelledRecord>(stream, Options).ConfigureAwait(false);
            rows = [.. records.Data.Select(r => new FeatureRow(r.Path, r.Label, r.Features))];
        }
        else
        {
            var records = await ParquetSerializer.DeserializeAsync<UnlabelledRecord>(stream, Options).ConfigureAwait(false);
            rows = [.. records.Data.Select(r => new FeatureRow(r.Path, null, r.Features))];
        }

        return new FeatureContent(metadata, rows, hasLabels);
    }

    /// <summary>The column names, as pandas, Spark and DuckDB see them.</summary>
    internal static class Columns
    {
        public const string Path = "path";
        public const string Label = "label";
        public const string Features = "features";
    }

    internal sealed class LabelledRecord
    {
        [JsonPropertyName(Columns.Path)]
        [ParquetRequired]
        public string Path { get; set; } = string.Empty;

        [JsonPropertyName(Columns.Label)]
        public string? Label { get; set; }

        [JsonPropertyName(Columns.Features)]
        [ParquetListElementRequired]
        public float[] Features { get; set; } = [];
    }

    internal sealed class UnlabelledRecord
    {
        [JsonPropertyName(Columns.Path)]
        [ParquetRequired]
        public string Path { get; set; } = string.Empty;

        [JsonPropertyName(Columns.Features)]
        [ParquetListElementRequired]
        public float[] Features { get; set; } = [];
    }
}
