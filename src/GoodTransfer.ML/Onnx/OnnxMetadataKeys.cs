namespace GoodTransfer.ML.Onnx;

/// <summary>
/// The keys of the <c>metadata_props</c> that GoodTransfer.ML writes into every ONNX model, in one place:
/// they are a published format (Triton, Spark and other tools read them), so they never change.
/// </summary>
internal static class OnnxMetadataKeys
{
    /// <summary>The backbone's name, e.g. <c>MocoV2ImageNet</c>.</summary>
    public const string Backbone = "goodtransfer.backbone";

    /// <summary>The checkpoint's file name.</summary>
    public const string CheckpointFile = "goodtransfer.checkpoint_file";

    /// <summary>The checkpoint's SHA-256, lower-case hex.</summary>
    public const string CheckpointSha256 = "goodtransfer.checkpoint_sha256";

    /// <summary>Where the weights were found in the checkpoint and which prefix was removed.</summary>
    public const string CheckpointLayout = "goodtransfer.checkpoint_layout";

    /// <summary>
    /// The inferred architecture, <see cref="ResNetArchitecture.Name"/>: torchvision's model name (<c>resnet50</c>)
    /// where the shape is one, else a description such as <c>resnet(basic,[2,1,1,1],stem=8,out=[8,16,24,32])</c>.
    /// </summary>
    public const string Architecture = "goodtransfer.architecture";

    /// <summary>The <see cref="FeatureLayer"/> name, e.g. <c>Layer4</c>.</summary>
    public const string FeatureLayer = "goodtransfer.feature_layer";

    /// <summary>The feature size C, in decimal.</summary>
    public const string FeatureSize = "goodtransfer.feature_size";

    /// <summary>The converter's graph version (<see cref="ResNetGraphBuilder.ConverterVersion"/>).</summary>
    public const string ConverterVersion = "goodtransfer.converter_version";

    /// <summary><see cref="ImagePreprocessing.ResizeSize"/> in decimal, e.g. <c>256</c>.</summary>
    public const string ResizeSize = "goodtransfer.resize_size";

    /// <summary><see cref="ImagePreprocessing.CropSize"/> in decimal, e.g. <c>224</c>: the input's height and width.</summary>
    public const string CropSize = "goodtransfer.crop_size";

    /// <summary>
    /// <see cref="ImagePreprocessing.Mean"/>, RGB, comma-separated, each the shortest decimal that reads back as
    /// the same float32, invariant culture: <c>0.485,0.456,0.406</c>.
    /// </summary>
    public const string Mean = "goodtransfer.mean";

    /// <summary><see cref="ImagePreprocessing.Std"/>, written as <see cref="Mean"/> is: <c>0.229,0.224,0.225</c>.</summary>
    public const string Std = "goodtransfer.std";

    /// <summary><c>float16</c> or <c>int8</c> for a rewritten model; absent for float32.</summary>
    public const string Precision = "goodtransfer.precision";

    /// <summary>How an int8 model's activation ranges were calibrated.</summary>
    public const string Calibration = "goodtransfer.calibration";
}
