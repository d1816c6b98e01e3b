namespace GoodTransfer.ML.Orleans;

/// <summary>One batch of a <see cref="FeaturizationJob"/>: its images, the featurizer, and the file its features go to.</summary>
/// <param name="Index">The batch's number in the job, from 0.</param>
/// <param name="Count">How many batches the job has.</param>
/// <param name="Images">The images, in the job's order; every silo must be able to read the paths.</param>
/// <param name="Featurizer">The featurizer each silo fits once and keeps.</param>
/// <param name="PartPath">The feature file to write, on storage every silo can write; written atomically.</param>
[GenerateSerializer]
[Alias("GoodTransfer.ML.Orleans.FeatureBatch")]
public sealed record FeatureBatch(
    [property: Id(0)] int Index,
    [property: Id(1)] int Count,
    [property: Id(2)] IReadOnlyList<ImageEntry> Images,
    [property: Id(3)] FeaturizerSpec Featurizer,
    [property: Id(4)] string PartPath);

/// <summary>An image of a job: its path (as given, on storage every silo can read) and its label, where known.</summary>
/// <param name="Path">The image file.</param>
/// <param name="Label">Its label, or <see langword="null"/>; written to the feature file's <c>label</c> column.</param>
[GenerateSerializer]
[Alias("GoodTransfer.ML.Orleans.ImageEntry")]
public sealed record ImageEntry([property: Id(0)] string Path, [property: Id(1)] string? Label = null);

/// <summary>What a silo did with a <see cref="FeatureBatch"/>.</summary>
/// <param name="Index">The batch's number.</param>
/// <param name="Silo">The silo that ran it (Orleans' address, <c>host:port@generation</c>).</param>
/// <param name="Images">How many images its feature file holds.</param>
/// <param name="Seconds">How long the silo spent on it, including waiting for its turn and fitting the featurizer.</param>
/// <param name="AlreadyComplete">Whether the file was there already (another attempt wrote it), so nothing was run.</param>
/// <param name="Error">Why the batch failed in a way that another try would not mend (an image that cannot be decoded, a checkpoint that cannot be read), as "type: message"; <see langword="null"/> when it succeeded.</param>
[GenerateSerializer]
[Alias("GoodTransfer.ML.Orleans.BatchResult")]
public sealed record BatchResult(
    [property: Id(0)] int Index,
    [property: Id(1)] string Silo,
    [property: Id(2)] int Images,
    [property: Id(3)] double Seconds,
    [property: Id(4)] bool AlreadyComplete,
    [property: Id(5)] string? Error);
