using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Conversion;

namespace GoodTransfer.ML;

/// <summary><see cref="ExportOnnx"/>: a backbone as an ONNX file, for ONNX Runtime, Triton, Spark or any other ONNX consumer.</summary>
public static class OnnxExportExtensions
{
    /// <summary>
    /// Converts the checkpoint into an ONNX featurizer and writes it to <paramref name="onnxPath"/>
    /// (atomically: an existing file there is replaced only by a complete model). A catalog backbone's
    /// checkpoint is first fetched into the cache (see <see cref="GoodTransferOptions"/>).
    /// </summary>
    /// <remarks>
    /// The graph's contract: one input <c>image</c>, float32 <c>[N, 3, S, S]</c> with S the
    /// <see cref="Backbone.Preprocessing"/>'s crop size (224 for every catalog backbone), RGB in [0, 1] as torchvision's
    /// <c>ToTensor</c> gives after its <c>Resize</c> and <c>CenterCrop</c>, N dynamic; the preprocessing's
    /// normalisation (ImageNet's mean 0.485/0.456/0.406, std 0.229/0.224/0.225) inside the graph; one output
    /// <c>features</c>, float32 <c>[N, C]</c>: the global-average-pooled output of the chosen stage (C = 2048
    /// for ResNet-50's last stage), which is torchvision's forward with <c>fc</c> removed. BatchNorm is folded
    /// into the convolutions. The model's metadata names the backbone, the architecture and the checkpoint's
    /// SHA-256, and records the preprocessing (<c>goodtransfer.resize_size</c>, <c>crop_size</c>, <c>mean</c>, <c>std</c>).
    /// </remarks>
    /// <param name="backbone">The backbone.</param>
    /// <param name="onnxPath">Where to write the <c>.onnx</c> file.</param>
    /// <param name="options">The feature layer (the last stage by default), the precision (float32 by default; float16; int8 with its calibration images) and, for catalog backbones, the cache, mirror and offline settings.</param>
    /// <returns>What was converted: the architecture, the feature size, the checkpoint's hash and the keys left out.</returns>
    /// <exception cref="CheckpointFormatException">The checkpoint was refused; the message names the file and the reason.</exception>
    /// <exception cref="ArgumentException">An option is out of range (its name is the exception's <c>ParamName</c>), or <see cref="Precision.Int8"/> is asked for without <see cref="GoodTransferOptions.CalibrationImages"/>.</exception>
    /// <exception cref="InvalidImageException">A calibration image cannot be decoded.</exception>
    public static OnnxExport ExportOnnx(this Backbone backbone, string onnxPath, GoodTransferOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentException.ThrowIfNullOrWhiteSpace(onnxPath);
        var settings = FeaturizerSettings.From(options ?? new GoodTransferOptions());
        var precision = BackboneConverter.PrecisionFor(settings.Conversion, backbone.Preprocessing);
        if (backbone.CheckpointPath is { } local)
        {
            // Hashed on the second core while it is read, rather than before.
            return BackboneConverter.Convert(backbone, local, onnxPath, settings.Conversion.FeatureLayer, precision);
        }

        var checkpoint = CheckpointStore.Resolve(backbone, settings.Acquisition, AcquisitionLog.None, BackboneConverter.ValidateCheckpoint);
        return BackboneConverter.Convert(backbone, checkpoint.Path, onnxPath, settings.Conversion.FeatureLayer, precision, knownSha256: checkpoint.Sha256);
    }
}
