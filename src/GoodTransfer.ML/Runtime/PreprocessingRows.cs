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

/// <summary>Infrastructure for saved models: the empty input of the step that starts the preprocessing sizes' columns.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class NoColumnsRow
{
}

/// <summary>Infrastructure for saved models: one constant column, from which the preprocessing sizes' columns are computed.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class TickRow
{
    /// <summary>Always zero: ML.NET's <c>Expression</c> needs an input column to compute a constant from.</summary>
    [ColumnName(PreprocessingColumns.Tick)]
    public float Tick { get; set; }
}

/// <summary>Infrastructure for saved models: the input of the preprocessing step for images, with the sizes of the backbone's preprocessing.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class SizedImageRow
{
    /// <summary>The image, as <c>LoadImages</c> gives it.</summary>
    [ColumnName(PreprocessingColumns.Input)]
    public MLImage? Image { get; set; }

    /// <summary>The shorter side after resizing.</summary>
    [ColumnName(PreprocessingColumns.ResizeSize)]
    public int ResizeSize { get; set; }

    /// <summary>The side of the centre crop.</summary>
    [ColumnName(PreprocessingColumns.CropSize)]
    public int CropSize { get; set; }
}

/// <summary>Infrastructure for saved models: the input of the preprocessing step for encoded bytes, with the sizes of the backbone's preprocessing.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class SizedImageBytesRow
{
    /// <summary>The encoded image (JPEG, PNG, ...), as <c>LoadRawImageBytes</c> gives it.</summary>
    [ColumnName(PreprocessingColumns.Input)]
    public byte[]? Bytes { get; set; }

    /// <summary>The shorter side after resizing.</summary>
    [ColumnName(PreprocessingColumns.ResizeSize)]
    public int ResizeSize { get; set; }

    /// <summary>The side of the centre crop.</summary>
    [ColumnName(PreprocessingColumns.CropSize)]
    public int CropSize { get; set; }
}

/// <summary>Infrastructure for saved models: the input of the preprocessing step for image paths, with the sizes of the backbone's preprocessing.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class SizedImagePathRow
{
    /// <summary>The image file's path, absolute or relative to the current directory.</summary>
    [ColumnName(PreprocessingColumns.Input)]
    public string? Path { get; set; }

    /// <summary>The shorter side after resizing.</summary>
    [ColumnName(PreprocessingColumns.ResizeSize)]
    public int ResizeSize { get; set; }

    /// <summary>The side of the centre crop.</summary>
    [ColumnName(PreprocessingColumns.CropSize)]
    public int CropSize { get; set; }
}

/// <summary>
/// Infrastructure for saved models: the network's input for a preprocessing other than ImageNet's, a vector
/// of <c>3 x CropSize x CropSize</c> floats whose length no attribute can state; the one-image model's input
/// has an open dimension for it.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class SizedPixelsRow
{
    /// <summary>The preprocessed image, CHW float32 RGB in [0, 1].</summary>
    [ColumnName(SingleImageGraph.InputName)]
    [VectorType]
    public float[] Pixels { get; set; } = [];
}

/// <summary>Names of the featurizer's internal columns; all are dropped from its output.</summary>
internal static class PreprocessingColumns
{
    public const string Input = "goodtransfer_image";

    public const string Tick = "goodtransfer_tick";

    public const string ResizeSize = "goodtransfer_resize_size";

    public const string CropSize = "goodtransfer_crop_size";
}
