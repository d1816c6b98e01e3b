using System.Globalization;

namespace GoodTransfer.ML.FeatureFiles;

/// <summary>The key-value metadata of a feature file: every key starts with <c>goodtransfer.</c>.</summary>
internal static class MetadataKeys
{
    public const string Backbone = "goodtransfer.backbone";
    public const string CheckpointSha256 = "goodtransfer.checkpoint_sha256";
    public const string Layer = "goodtransfer.layer";
    public const string Precision = "goodtransfer.precision";
    public const string FeatureLength = "goodtransfer.feature_length";
    public const string LibraryVersion = "goodtransfer.library_version";

    /// <summary>The metadata as key-value pairs, in this order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ToPairs(FeatureFileMetadata metadata) =>
    [
        new(Backbone, metadata.Backbone),
        new(CheckpointSha256, metadata.CheckpointSha256),
        new(Layer, metadata.Layer.ToString()),
        new(Precision, metadata.Precision.ToString()),
        new(FeatureLength, metadata.FeatureLength.ToString(CultureInfo.InvariantCulture)),
        new(LibraryVersion, metadata.LibraryVersion),
    ];

    /// <summary>The metadata from key-value pairs; a key that is missing or a value that does not parse is refused, naming the file and the key.</summary>
    public static FeatureFileMetadata FromPairs(IReadOnlyDictionary<string, string> pairs, string file)
    {
        string Value(string key) => pairs.TryGetValue(key, out var value) && !string.IsNullOrEmpty(value)
            ? value
            : throw new InvalidDataException($"'{file}' is not a GoodTransfer feature file: it has no '{key}' metadata.");

        var (backbone, sha256, layerText, precisionText, lengthText, version) =
            (Value(Backbone), Value(CheckpointSha256), Value(Layer), Value(Precision), Value(FeatureLength), Value(LibraryVersion));
        if (!Enum.TryParse<FeatureLayer>(layerText, ignoreCase: false, out var layer) || !Enum.IsDefined(layer))
        {
            throw new InvalidDataException($"Feature file '{file}': '{Layer}' is '{layerText}', not one of {string.Join(", ", Enum.GetNames<FeatureLayer>())}.");
        }

        if (!Enum.TryParse<Precision>(precisionText, ignoreCase: false, out var precision) || !Enum.IsDefined(precision))
        {
            throw new InvalidDataException($"Feature file '{file}': '{Precision}' is '{precisionText}', not one of {string.Join(", ", Enum.GetNames<Precision>())}.");
        }

        if (!int.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length < 1)
        {
            throw new InvalidDataException($"Feature file '{file}': '{FeatureLength}' is '{lengthText}', not a positive whole number.");
        }

        return new FeatureFileMetadata(backbone, sha256, layer, precision, length, version);
    }
}
