using System.ComponentModel;
using GoodTransfer.ML.Onnx;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Runtime;

// Row types of the preprocessing step that a fitted featurizer saves into a model zip. They are public
// only because ML.NET reflects over them when it loads such a model; they are not for direct use.

/// <summary>Infrastructure for saved models: the input row of the preprocessing step, for image columns.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ImageRow
{
    /// <summary>The image, as <c>LoadImages</c> gives it.</summary>
    [ColumnName(PreprocessingColumns.Input)]
    public MLImage? Image { get; set; }
}

/// <summary>Infrastructure for saved models: the input row of the preprocessing step, for encoded image bytes.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ImageBytesRow
{
    /// <summary>The encoded image (JPEG, PNG, ...), as <c>LoadRawImageBytes</c> gives it.</summary>
    [ColumnName(PreprocessingColumns.Input)]
    public byte[]? Bytes { get; set; }
}

/// <summary>Infrastructure for saved models: the input row of the preprocessing step, for image paths.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ImagePathRow
{
    /// <summary>The image file's path, absolute or relative to the current directory.</summary>
    [ColumnName(PreprocessingColumns.Input)]
    public string? Path { get; set; }
}

/// <summary>Infrastructure for saved models: the output row of the preprocessing step, the network's input.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class PixelsRow
{
    // An attribute needs a constant: ImagePreprocessing.ImageNet.CropSize, which a test checks it equals.
    private const int ImageNetCropSize = 224;

    /// <summary>The preprocessed image, CHW float32 RGB in [0, 1], as torchvision's eval transform gives it.</summary>
    [ColumnName(SingleImageGraph.InputName)]
    [VectorType(3, ImageNetCropSize, ImageNetCropSize)]
    public float[] Pixels { get; set; } = new float[Imaging.TorchvisionTransform.ImageNet.TensorLength];
}

/// <summary>Names of the featurizer's internal columns; all are dropped from its output.</summary>
internal static class PreprocessingColumns
{
    public const string Input = "goodtransfer_image";
}
