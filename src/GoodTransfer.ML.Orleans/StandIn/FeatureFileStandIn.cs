using System.Text;

namespace GoodTransfer.ML.Orleans;

// A stand-in for GoodTransfer.ML's FeatureFile (being written on another branch) with the contract's names, so
// that the job can be built and tested now. Deleted when FeatureFile is merged; not Parquet.
internal sealed record FeatureFileMetadata(string Backbone, string CheckpointSha256, FeatureLayer Layer, Precision Precision, int FeatureLength, string LibraryVersion)
{
    public static FeatureFileMetadata For(GoodTransferTransformer featurizer, int featureLength) =>
        new(featurizer.BackboneName, string.Empty, FeatureLayer.Layer4, Precision.Float32, featureLength, "stand-in");
}

internal sealed record FeatureRow(string Path, string? Label, float[] Features);

internal static class FeatureFile
{
    public static void Write(string path, FeatureFileMetadata metadata, IReadOnlyList<FeatureRow> rows)
    {
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var writer = new BinaryWriter(File.Create(temporary), Encoding.UTF8))
            {
                writer.Write(metadata.Backbone);
                writer.Write(rows.Count);
                foreach (var row in rows)
                {
                    writer.Write(row.Path);
                    writer.Write(row.Label ?? "\0");
                    writer.Write(row.Features.Length);
                    foreach (var value in row.Features)
                    {
                        writer.Write(value);
                    }
                }
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public static IReadOnlyList<FeatureRow> Read(string path)
    {
        if (Directory.Exists(path))
        {
            return [.. Directory.GetFiles(path, "part-*.parquet").Order(StringComparer.Ordinal).SelectMany(Read)];
        }

        using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        _ = reader.ReadString();
        var rows = new FeatureRow[reader.ReadInt32()];
        for (var i = 0; i < rows.Length; i++)
        {
            var rowPath = reader.ReadString();
            var label = reader.ReadString();
            var features = new float[reader.ReadInt32()];
            for (var j = 0; j < features.Length; j++)
            {
                features[j] = reader.ReadSingle();
            }

            rows[i] = new FeatureRow(rowPath, label == "\0" ? null : label, features);
        }

        return rows;
    }
}
