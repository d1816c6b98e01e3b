using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.IO;
using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Quantization;

namespace GoodTransfer.ML.Conversion;

/// <summary>
/// Turns a backbone's checkpoint file into ONNX: reads the state dict, converts it in the precision the
/// settings ask for, and records where it came from in the model's metadata.
/// </summary>
internal static class BackboneConverter
{
    /// <summary>Checks that a downloaded file is a loadable checkpoint, before the cache takes it.</summary>
    /// <exception cref="CheckpointFormatException">It is not.</exception>
    public static void ValidateCheckpoint(string path) => CheckpointReader.Read(path);

    /// <summary>
    /// The precision that the settings ask for, with int8's calibration images read and preprocessed as
    /// <paramref name="preprocessing"/> (the backbone's) says, or, when the settings name none, the tensors of
    /// <paramref name="fittedImages"/> (the first images of the data being fitted).
    /// </summary>
    /// <exception cref="ArgumentException">Int8 is asked for with neither calibration images nor fitted images.</exception>
    /// <exception cref="InvalidImageException">A calibration image cannot be decoded.</exception>
    public static ConversionPrecision PrecisionFor(ConversionSettings settings, ImagePreprocessing preprocessing, IReadOnlyList<float[]>? fittedImages = null) => settings.Precision switch
    {
        Precision.Float16 => ConversionPrecision.Float16,
        Precision.Int8 when settings.CalibrationImages.Count > 0 => ConversionPrecision.Int8(CalibrationImages.FromFiles(settings.CalibrationImages, preprocessing)),
        Precision.Int8 when fittedImages is { Count: > 0 } => ConversionPrecision.Int8(fittedImages),
        Precision.Int8 => throw OptionErrors.Invalid(
            nameof(GoodTransferOptions.CalibrationImages),
            "Precision.Int8 needs GoodTransferOptions.CalibrationImages: a few dozen image files like those to be featurized, whose activation ranges calibrate the int8 model."),
        _ => ConversionPrecision.Float32,
    };

    /// <summary>Converts the checkpoint at <paramref name="checkpoint"/> and writes the model to <paramref name="onnxPath"/>, atomically.</summary>
    /// <param name="backbone">The backbone the checkpoint belongs to: its name goes into the metadata, its preprocessing into the graph.</param>
    /// <param name="checkpoint">The checkpoint file.</param>
    /// <param name="onnxPath">Where to write the batched model.</param>
    /// <param name="featureLayer">The stage whose pooled output the model returns.</param>
    /// <param name="precision">The model's precision.</param>
    /// <param name="singleImagePath">If set, also write the one-image form for ML.NET's OnnxTransformer there.</param>
    /// <param name="knownSha256">The checkpoint's SHA-256 when it is known already; otherwise it is computed while the file is read.</param>
    /// <param name="recordSha256">Write each model's SHA-256 record beside it, before it is moved into place.</param>
    /// <returns>What was converted.</returns>
    public static OnnxExport Convert(Backbone backbone, string checkpoint, string onnxPath, FeatureLayer featureLayer, ConversionPrecision precision, string? singleImagePath = null, string? knownSha256 = null, bool recordSha256 = false)
    {
        // Hash on the second core while the first reads the weights: the file is in the page cache
        // after either pass, so the two overlap instead of adding up.
        var hashing = knownSha256 is null ? Task.Run(() => Sha256Hex.OfFile(checkpoint)) : Task.FromResult(knownSha256);
        StateDict stateDict;
        try
        {
            stateDict = CheckpointReader.Read(checkpoint);
        }
        finally
        {
            // Never leave the hash running, whatever the reader threw; WaitAny does not rethrow its fault.
            Task.WaitAny(hashing);
        }

        var sha256 = hashing.GetAwaiter().GetResult();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [OnnxMetadataKeys.Backbone] = backbone.Name,
            [OnnxMetadataKeys.CheckpointFile] = Path.GetFileName(checkpoint),
            [OnnxMetadataKeys.CheckpointSha256] = sha256,
            [OnnxMetadataKeys.CheckpointLayout] = stateDict.Layout,
        };
        var result = ResNetOnnxConverter.Convert(stateDict, onnxPath, featureLayer, backbone.Preprocessing, metadata, singleImagePath, precision, recordSha256);
        return new OnnxExport(
            Path.GetFullPath(onnxPath),
            result.Architecture.Name,
            result.FeatureSize,
            featureLayer,
            sha256,
            stateDict.Layout,
            stateDict.IgnoredKeys);
    }
}
