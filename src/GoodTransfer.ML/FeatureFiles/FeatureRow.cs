namespace GoodTransfer.ML;

/// <summary>One image of a feature file: its path as it was given, its class if known, and its features.</summary>
/// <param name="Path">The image's path, exactly as it was given (relative paths stay relative).</param>
/// <param name="Label">The image's class (for a folder of class subfolders, the subfolder's name); <see langword="null"/> when unknown.</param>
/// <param name="Features">The image's features, <see cref="FeatureFileMetadata.FeatureLength"/> floats.</param>
public sealed record FeatureRow(string Path, string? Label, float[] Features);
