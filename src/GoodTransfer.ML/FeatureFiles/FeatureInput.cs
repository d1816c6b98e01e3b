namespace GoodTransfer.ML;

/// <summary>An image to featurize: its path, as given, and its class if known.</summary>
/// <param name="Path">The image file's path; a relative path is read from the current folder and recorded as given.</param>
/// <param name="Label">The image's class; <see langword="null"/> when unknown.</param>
public sealed record FeatureInput(string Path, string? Label);
