namespace GoodTransfer.ML;

/// <summary>One image of a feature file: its path as it was given, its class if known, and its features.</summary>
/// <param name="Path">The image's path, exactly as it was given (relative paths stay relative).</param>
/// <param name="Label">The image's class (for a folder of class subfolders, the subfolder's name); <see langword="null"/> when unknown.</param>
/// <param name="Features">The image's features, <see cref="FeatureFileMetadata.FeatureLength"/> floats.</param>
public sealed record FeatureRow(string Path, string? Label, float[] Features);

/// <summary>An image to featurize: its path, as given, and its class if known.</summary>
/// <param name="Path">The image file's path; a relative path is read from the current folder and recorded as given.</param>
/// <param name="Label">The image's class; <see langword="null"/> when unknown.</param>
public sealed record FeatureInput(string Path, string? Label);

/// <summary>How <see cref="FeatureFile.Write"/> stores the rows.</summary>
public enum FeatureFileFormat
{
    /// <summary>Apache Parquet: columns <c>path</c>, <c>label</c> and <c>features</c> (a list of float32), with the metadata as file key-value metadata. The default.</summary>
    Parquet = 0,

    /// <summary>
    /// Comma-separated text: the metadata as leading <c># goodtransfer.key=value</c> lines, then a header
    /// <c>path,label,f0,f1,...</c> (no <c>label</c> when no row has one) and one row per image; floats written so
    /// that they read back bit for bit.
    /// </summary>
    Csv = 1,
}
