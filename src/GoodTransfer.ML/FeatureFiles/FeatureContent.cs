namespace GoodTransfer.ML.FeatureFiles;

/// <summary>A feature file as read: its metadata, its rows, and whether it has a label column.</summary>
internal sealed record FeatureContent(FeatureFileMetadata Metadata, IReadOnlyList<FeatureRow> Rows, bool HasLabels);
