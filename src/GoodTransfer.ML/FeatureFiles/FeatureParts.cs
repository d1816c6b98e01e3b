using System.Globalization;
using System.Text.RegularExpressions;

namespace GoodTransfer.ML.FeatureFiles;

/// <summary>A folder of <c>part-I-of-N</c> feature files, all N of them, in part order, agreeing on their metadata.</summary>
internal sealed partial record FeatureParts(IReadOnlyList<string> Files, FeatureFileMetadata Metadata)
{
    public static FeatureParts Find(string folder)
    {
        var fullPath = Path.GetFullPath(folder);
        var found = Directory.EnumerateFiles(fullPath)
            .Select(f => (File: f, Match: PartName().Match(Path.GetFileName(f))))
            .Where(p => p.Match.Success)
            .Select(p => (p.File, Index: int.Parse(p.Match.Groups[1].Value, CultureInfo.InvariantCulture), Count: int.Parse(p.Match.Groups[2].Value, CultureInfo.InvariantCulture)))
            .OrderBy(p => p.Index)
            .ToList();
        if (found.Count == 0)
        {
            throw new InvalidDataException($"Folder '{fullPath}' holds no feature file parts (part-I-of-N.parquet or .csv).");
        }

        var counts = found.Select(p => p.Count).Distinct().ToList();
        if (counts.Count > 1)
        {
            throw new InvalidDataException($"Folder '{fullPath}' mixes parts of {string.Join(" and ", counts)} shards: a folder holds the parts of one run.");
        }

        var count = counts[0];
        var duplicate = found.GroupBy(p => p.Index).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidDataException($"Folder '{fullPath}' holds part {duplicate.Key} of {count} twice ({string.Join(", ", duplicate.Select(p => Path.GetFileName(p.File)))}).");
        }

        var missing = Enumerable.Range(0, count).Except(found.Select(p => p.Index)).ToList();
        if (missing.Count > 0)
        {
            var names = string.Join(", ", missing.Take(5).Select(i => $"part-{i}-of-{count}"));
            throw new InvalidDataException($"Folder '{fullPath}' holds {found.Count} of {count} parts: {names}{(missing.Count > 5 ? ", ..." : string.Empty)} missing (a shard that has not run, or not finished).");
        }

        var metadata = FeatureFile.ReadOne(found[0].File, metadataOnly: true).Metadata;
        foreach (var part in found.Skip(1))
        {
            var other = FeatureFile.ReadOne(part.File, metadataOnly: true).Metadata;
            if (other with { LibraryVersion = metadata.LibraryVersion } != metadata)
            {
                throw new InvalidDataException($"Folder '{fullPath}': {Path.GetFileName(part.File)} was written by {Describe(other)}, but {Path.GetFileName(found[0].File)} by {Describe(metadata)}.");
            }
        }

        return new FeatureParts([.. found.Select(p => p.File)], metadata);
    }

    private static string Describe(FeatureFileMetadata m) => $"{m.Backbone} (checkpoint {m.CheckpointSha256[..Math.Min(12, m.CheckpointSha256.Length)]}, {m.Layer}, {m.Precision})";

    [GeneratedRegex(@"^part-(\d+)-of-(\d+)\.(parquet|csv)$", RegexOptions.CultureInvariant)]
    private static partial Regex PartName();
}
