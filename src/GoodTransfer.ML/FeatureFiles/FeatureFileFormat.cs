namespace GoodTransfer.ML;

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
