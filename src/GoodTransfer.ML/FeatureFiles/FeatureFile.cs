using GoodTransfer.ML.FeatureFiles;
using GoodTransfer.ML.IO;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML;

/// <summary>
/// Feature files: one row per image (<c>path</c> as given, <c>label</c> if known, <c>features</c> a list of
/// float32) with the featurizer's provenance as file metadata, in Parquet (read by pandas, Spark, DuckDB and
/// ML.NET) or CSV. A folder of parts (<c>part-I-of-N.parquet</c>, see <see cref="FeatureShard"/>) reads as one file.
/// </summary>
/// <remarks>
/// <para>The Parquet schema: <c>path</c> (string, required), <c>label</c> (string, optional; the column is
/// absent when no row has a label), <c>features</c> (a LIST of required float32). The key-value metadata:
/// <c>goodtransfer.backbone</c>, <c>goodtransfer.checkpoint_sha256</c>, <c>goodtransfer.layer</c> (e.g.
/// <c>Layer4</c>), <c>goodtransfer.precision</c> (e.g. <c>Float32</c>), <c>goodtransfer.feature_length</c>
/// and <c>goodtransfer.library_version</c>. The file is written with Parquet.Net, Snappy-compressed.</para>
/// <para>Every write is atomic: the file is written under a temporary name beside the destination
/// (<c>&lt;file&gt;.&lt;guid&gt;.tmp</c>) and renamed over it when complete, so a reader, or a rerun after a
/// crash, never finds a half-written file under the final name.</para>
/// </remarks>
public static class FeatureFile
{
    /// <summary>Writes <paramref name="rows"/> to <paramref name="path"/>, atomically (replacing a file there only with a complete one).</summary>
    /// <param name="path">The file to write; its folder is created if needed.</param>
    /// <param name="metadata">The featurizer's provenance (<see cref="FeatureFileMetadata.For"/>).</param>
    /// <param name="rows">The rows, in the order they are to be read back.</param>
    /// <param name="format">Parquet (the default) or CSV.</param>
    /// <exception cref="ArgumentException">A row has no path, or features of another length than <see cref="FeatureFileMetadata.FeatureLength"/>; the message names the row.</exception>
    public static void Write(string path, FeatureFileMetadata metadata, IReadOnlyList<FeatureRow> rows, FeatureFileFormat format = FeatureFileFormat.Parquet)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(rows);
        Check(metadata, rows);
        switch (format)
        {
            case FeatureFileFormat.Parquet:
                AtomicFile.Write(path, stream => ParquetFeatures.Write(stream, metadata, rows));
                break;
            case FeatureFileFormat.Csv:
                AtomicFile.Write(path, stream => CsvFeatures.Write(stream, metadata, rows));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, $"FeatureFileFormat {(int)format} is not one of {string.Join(", ", Enum.GetNames<FeatureFileFormat>())}.");
        }
    }

    /// <summary>
    /// Deletes the temporary files (<c>&lt;file&gt;.&lt;guid&gt;.tmp</c>) that writes of <paramref name="paths"/> killed
    /// mid-way left beside them, reading each folder once; the files themselves, and every other file, are left
    /// alone. Call it once nothing writes them any more: a write still under way would lose its temporary file and fail.
    /// </summary>
    /// <param name="paths">Feature files written with <see cref="Write"/>, such as a job's parts.</param>
    /// <returns>How many temporary files were deleted.</returns>
    public static int DeleteLeftovers(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return AtomicFile.DeleteLeftovers(paths);
    }

    /// <summary>Reads the provenance of a feature file, or of a folder of parts (whose parts must agree).</summary>
    /// <param name="path">A <c>.parquet</c> or <c>.csv</c> feature file, or a folder of <c>part-I-of-N</c> files.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a feature file (not Parquet or CSV, or without the <c>goodtransfer.</c> metadata), or the folder's parts are incomplete or disagree; the message names the file.</exception>
    public static FeatureFileMetadata ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
        {
            return FeatureParts.Find(path).Metadata;
        }

        return ReadOne(path, metadataOnly: true).Metadata;
    }

    /// <summary>Reads every row of a feature file, or of a folder of parts in part order.</summary>
    /// <param name="path">A <c>.parquet</c> or <c>.csv</c> feature file, or a folder of <c>part-I-of-N</c> files.</param>
    /// <returns>The rows, in the order they were written.</returns>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a feature file, a row's features have another length than the metadata's, or the folder's parts are incomplete or disagree; the message names the file.</exception>
    public static IReadOnlyList<FeatureRow> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return ReadWithMetadata(path).Rows;
    }

    /// <summary>
    /// A feature file (or folder of parts) as an ML.NET data view, to train on: columns <c>Path</c> (text),
    /// <c>Label</c> (text, when the file has labels; an unknown label is empty) and <c>Features</c>, a
    /// <c>Vector&lt;Single, C&gt;</c> of known size C, as the featurizer's own output column.
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="path">A feature file, or a folder of parts.</param>
    /// <returns>The rows in memory, as a data view.</returns>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">As for <see cref="Read"/>.</exception>
    public static IDataView Load(MLContext mlContext, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var (metadata, rows, hasLabels) = ReadWithMetadata(path);
        return AsDataView(mlContext, rows, metadata.FeatureLength, hasLabels);
    }

    /// <summary>
    /// Rows already in memory (from <see cref="Read"/> or <see cref="FeaturizationPlan.Featurize"/>) as the data
    /// view <see cref="Load"/> gives: <c>Path</c>, <c>Label</c> when any row has one, and a known-size <c>Features</c> vector.
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="rows">The rows, all with features of the same length; at least one.</param>
    /// <returns>The data view.</returns>
    /// <exception cref="ArgumentException">There are no rows, or their features differ in length.</exception>
    public static IDataView ToDataView(MLContext mlContext, IReadOnlyList<FeatureRow> rows)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            throw new ArgumentException("There are no rows: the length of the Features vector is unknown.", nameof(rows));
        }

        var length = rows[0].Features.Length;
        if (rows.Select((r, i) => (r, i)).FirstOrDefault(p => p.r.Features.Length != length) is { r: not null } wrong)
        {
            throw new ArgumentException($"Row {wrong.i} ('{wrong.r.Path}') has {wrong.r.Features.Length} features, row 0 has {length}.", nameof(rows));
        }

        return AsDataView(mlContext, rows, length, rows.Any(r => r.Label is not null));
    }

    private static IDataView AsDataView(MLContext mlContext, IReadOnlyList<FeatureRow> rows, int featureLength, bool hasLabels)
    {
        var vector = new VectorDataViewType(NumberDataViewType.Single, featureLength);
        if (hasLabels)
        {
            var schema = SchemaDefinition.Create(typeof(LabelledView));
            schema[nameof(LabelledView.Features)].ColumnType = vector;
            return mlContext.Data.LoadFromEnumerable(rows.Select(r => new LabelledView { Path = r.Path, Label = r.Label ?? string.Empty, Features = r.Features }).ToList(), schema);
        }

        var unlabelled = SchemaDefinition.Create(typeof(UnlabelledView));
        unlabelled[nameof(UnlabelledView.Features)].ColumnType = vector;
        return mlContext.Data.LoadFromEnumerable(rows.Select(r => new UnlabelledView { Path = r.Path, Features = r.Features }).ToList(), unlabelled);
    }

    /// <summary>The format a path's extension names: <c>.csv</c> is CSV, anything else Parquet (what <see cref="Write"/> chooses by default in <see cref="FeaturizationPlan"/>).</summary>
    internal static FeatureFileFormat FormatOf(string path) =>
        string.Equals(System.IO.Path.GetExtension(path), ".csv", StringComparison.OrdinalIgnoreCase) ? FeatureFileFormat.Csv : FeatureFileFormat.Parquet;

    /// <summary>The extension of a format's files, with its dot.</summary>
    internal static string ExtensionOf(FeatureFileFormat format) => format == FeatureFileFormat.Csv ? ".csv" : ".parquet";

    internal static FeatureContent ReadWithMetadata(string path)
    {
        if (!Directory.Exists(path))
        {
            return ReadOne(path, metadataOnly: false);
        }

        var parts = FeatureParts.Find(path);
        var rows = new List<FeatureRow>();
        var hasLabels = false;
        foreach (var part in parts.Files)
        {
            var content = ReadOne(part, metadataOnly: false);
            rows.AddRange(content.Rows);
            hasLabels |= content.HasLabels;
        }

        return new FeatureContent(parts.Metadata, rows, hasLabels);
    }

    internal static FeatureContent ReadOne(string path, bool metadataOnly)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new FileNotFoundException($"No feature file at '{fullPath}'.", fullPath);
        }

        var content = IsParquet(fullPath) ? ParquetFeatures.Read(fullPath, metadataOnly) : CsvFeatures.Read(fullPath, metadataOnly);
        var wrong = content.Rows.Select((row, index) => (row, index)).FirstOrDefault(r => r.row.Features.Length != content.Metadata.FeatureLength);
        if (wrong.row is not null)
        {
            throw new InvalidDataException($"Feature file '{fullPath}': row {wrong.index} ('{wrong.row.Path}') has {wrong.row.Features.Length} features, but the file's metadata says {content.Metadata.FeatureLength}.");
        }

        return content;
    }

    /// <summary>Whether the file is Parquet, by its magic bytes (<c>PAR1</c>), whatever its name; a CSV feature file starts with <c>#</c>, and one named <c>.csv</c> is read as CSV.</summary>
    private static bool IsParquet(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using (var stream = File.OpenRead(path))
        {
            if (stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && head.SequenceEqual("PAR1"u8))
            {
                return true;
            }
        }

        return FormatOf(path) != FeatureFileFormat.Csv && !File.ReadLines(path).Take(1).Any(l => l.StartsWith('#'));
    }

    private static void Check(FeatureFileMetadata metadata, IReadOnlyList<FeatureRow> rows)
    {
        if (metadata.FeatureLength < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(metadata), metadata.FeatureLength, "The metadata's FeatureLength must be at least 1.");
        }

        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i] ?? throw new ArgumentException($"Row {i} is null.", nameof(rows));
            if (string.IsNullOrEmpty(row.Path))
            {
                throw new ArgumentException($"Row {i} has no path: every row names its image.", nameof(rows));
            }

            if (row.Features is null || row.Features.Length != metadata.FeatureLength)
            {
                throw new ArgumentException($"Row {i} ('{row.Path}') has {row.Features?.Length ?? 0} features, but the metadata's FeatureLength is {metadata.FeatureLength}.", nameof(rows));
            }
        }
    }

    private sealed class LabelledView
    {
        public string Path { get; set; } = string.Empty;

        public string Label { get; set; } = string.Empty;

        public float[] Features { get; set; } = [];
    }

    private sealed class UnlabelledView
    {
        public string Path { get; set; } = string.Empty;

        public float[] Features { get; set; } = [];
    }
}
