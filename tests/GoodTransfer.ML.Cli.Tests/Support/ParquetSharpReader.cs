using ParquetSharp;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>A feature file as Apache Arrow's C++ Parquet reader (through ParquetSharp) sees it: independent of the Parquet.Net that writes it.</summary>
public sealed record ParquetSharpFile(
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<string> Columns,
    IReadOnlyList<string> Paths,
    IReadOnlyList<string?>? Labels,
    IReadOnlyList<float[]> Features)
{
    public static ParquetSharpFile Read(string path)
    {
        using var reader = new ParquetFileReader(path);
        var metadata = reader.FileMetaData.KeyValueMetadata.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var root = reader.FileMetaData.Schema.GroupNode;
        var columns = Enumerable.Range(0, root.FieldCount).Select(i => root.Field(i).Name).ToList();
        var paths = new List<string>();
        var labels = columns.Contains("label") ? new List<string?>() : null;
        var features = new List<float[]>();
        var descriptors = Enumerable.Range(0, reader.FileMetaData.NumColumns).Select(i => reader.FileMetaData.Schema.Column(i).Path.ToDotString()).ToList();
        for (var g = 0; g < reader.FileMetaData.NumRowGroups; g++)
        {
            using var group = reader.RowGroup(g);
            var rows = checked((int)group.MetaData.NumRows);
            using (var column = group.Column(descriptors.IndexOf("path")).LogicalReader<string>())
            {
                paths.AddRange(column.ReadAll(rows));
            }

            if (labels is not null)
            {
                using var column = group.Column(descriptors.IndexOf("label")).LogicalReader<string?>();
                labels.AddRange(column.ReadAll(rows));
            }

            using (var column = group.Column(descriptors.FindIndex(d => d.StartsWith("features.", StringComparison.Ordinal))).LogicalReader<float[]>())
            {
                features.AddRange(column.ReadAll(rows));
            }
        }

        return new ParquetSharpFile(metadata, columns, paths, labels, features);
    }
}
