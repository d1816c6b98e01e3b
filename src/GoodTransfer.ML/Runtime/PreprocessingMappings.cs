using System.Collections.Concurrent;
using System.ComponentModel;
using GoodTransfer.ML.Imaging;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// torchvision's eval transform (Resize, CenterCrop, ToTensor) as ML.NET custom mappings, one per kind of
/// input column. Their contract names are what a saved model records; ML.NET finds them again in this
/// assembly when the model is loaded, so the names never change once published.
/// </summary>
/// <remarks>
/// A custom mapping is saved as its contract name alone, so it cannot carry the sizes of a preprocessing.
/// ImageNet's (Resize(256), CenterCrop(224), every catalog backbone) is built into the <c>v1</c> mappings. Any
/// other reaches the <c>Sized.v1</c> mappings as two constant columns that ML.NET's <c>Expression</c>
/// transformer computes (the constants are saved in its expression text) from the one column of the
/// <see cref="TickContract"/> mapping, which needs no input.
/// </remarks>
internal static class PreprocessingMappings
{
    public const string ImageContract = "GoodTransfer.ML.Preprocess.Image.v1";
    public const string BytesContract = "GoodTransfer.ML.Preprocess.Bytes.v1";
    public const string PathContract = "GoodTransfer.ML.Preprocess.Path.v1";
    public const string SizedImageContract = "GoodTransfer.ML.Preprocess.Image.Sized.v1";
    public const string SizedBytesContract = "GoodTransfer.ML.Preprocess.Bytes.Sized.v1";
    public const string SizedPathContract = "GoodTransfer.ML.Preprocess.Path.Sized.v1";
    public const string TickContract = "GoodTransfer.ML.Preprocess.Tick.v1";

    /// <summary>The resize-and-crop transforms met so far, by their sizes (normalisation is in the graph, so only the sizes matter here).</summary>
    private static readonly ConcurrentDictionary<(int Resize, int Crop), TorchvisionTransform> SizedTransforms = new();

    public static void FromImage(ImageRow input, PixelsRow output) =>
        TorchvisionTransform.ImageNet.ToTensor(Decode(input.Image), output.Pixels);

    public static void FromBytes(ImageBytesRow input, PixelsRow output) =>
        BytesToTensor(TorchvisionTransform.ImageNet, input.Bytes, output.Pixels);

    public static void FromPath(ImagePathRow input, PixelsRow output) =>
        FileToTensor(TorchvisionTransform.ImageNet, input.Path, output.Pixels);

    public static void Tick(NoColumnsRow _, TickRow output) => output.Tick = 0;

    public static void FromImage(SizedImageRow input, SizedPixelsRow output) =>
        ToTensor(Decode(input.Image), input.ResizeSize, input.CropSize, output);

    public static void FromBytes(SizedImageBytesRow input, SizedPixelsRow output)
    {
        var transform = SizedTransform(input.ResizeSize, input.CropSize, output);
        BytesToTensor(transform, input.Bytes, output.Pixels);
    }

    public static void FromPath(SizedImagePathRow input, SizedPixelsRow output)
    {
        var transform = SizedTransform(input.ResizeSize, input.CropSize, output);
        FileToTensor(transform, input.Path, output.Pixels);
    }

    /// <summary>A row's image from an image column; the same on the batched path and in a saved model.</summary>
    public static RgbImage Decode(MLImage? image) =>
        image is null
            ? throw new InvalidImageException("an image column", "the row holds no image (null)")
            : ImageDecoder.FromMLImage(image, "an image of the input column");

    /// <summary>A row's image from a column of encoded bytes.</summary>
    public static RgbImage Decode(byte[]? bytes)
    {
        bytes ??= [];
        return ImageDecoder.Decode(bytes, BytesSource(bytes));
    }

    /// <summary>A row's image from a column of paths.</summary>
    public static RgbImage DecodeFile(string? path) =>
        ImageDecoder.DecodeFile(CheckPath(path));

    /// <summary>
    /// A row's tensor from a column of encoded bytes: <c>transform.ToTensor(Decode(bytes), destination)</c>, the same floats
    /// and errors, with <see cref="TorchvisionTransform.BytesToTensor"/>'s cheaper decode.
    /// </summary>
    public static void BytesToTensor(TorchvisionTransform transform, byte[]? bytes, Span<float> destination)
    {
        bytes ??= [];
        transform.BytesToTensor(bytes, BytesSource(bytes), destination);
    }

    /// <summary>
    /// A row's tensor from a column of paths: <c>transform.ToTensor(DecodeFile(path), destination)</c>, the same floats and
    /// errors, with <see cref="TorchvisionTransform.FileToTensor"/>'s cheaper decode.
    /// </summary>
    public static void FileToTensor(TorchvisionTransform transform, string? path, Span<float> destination) =>
        transform.FileToTensor(CheckPath(path), destination);

    private static string BytesSource(byte[] bytes) => $"encoded image bytes ({bytes.Length} bytes)";

    private static string CheckPath(string? path) =>
        string.IsNullOrEmpty(path) ? throw new InvalidImageException("an image path column", "the row's path is empty") : path;

    private static void ToTensor(RgbImage image, int resizeSize, int cropSize, SizedPixelsRow output) =>
        SizedTransform(resizeSize, cropSize, output).ToTensor(image, output.Pixels);

    /// <summary>The transform of these sizes, with <paramref name="output"/>'s pixels made the length of its tensor.</summary>
    private static TorchvisionTransform SizedTransform(int resizeSize, int cropSize, SizedPixelsRow output)
    {
        var transform = SizedTransforms.GetOrAdd(
            (resizeSize, cropSize),
            static sizes => new TorchvisionTransform(new ImagePreprocessing(sizes.Resize, sizes.Crop, ImagePreprocessing.ImageNet.Mean, ImagePreprocessing.ImageNet.Std)));
        if (output.Pixels.Length != transform.TensorLength)
        {
            output.Pixels = new float[transform.TensorLength];
        }

        return transform;
    }

    /// <summary>
    /// ML.NET maps a CustomMapping's <see cref="MLImage"/> member only once the unsized image type is
    /// registered for it; registering the same pair again is allowed.
    /// </summary>
    public static void RegisterImageType()
    {
        try
        {
            DataViewTypeManager.Register(new ImageDataViewType(), typeof(MLImage));
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InvalidOperationException(
                "GoodTransfer.ML needs MLImage registered with ML.NET as the unsized image type, but this process registered it differently " +
                "(DataViewTypeManager.Register with a sized ImageDataViewType?).",
                e);
        }
    }
}

/// <summary>Infrastructure for saved models: loads the preprocessing step of an image column.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(PreprocessingMappings.ImageContract)]
public sealed class ImagePreprocessingFactory : CustomMappingFactory<ImageRow, PixelsRow>
{
    /// <summary>Registers the image type ML.NET needs to map <see cref="ImageRow"/>.</summary>
    public ImagePreprocessingFactory() => PreprocessingMappings.RegisterImageType();

    /// <inheritdoc/>
    public override Action<ImageRow, PixelsRow> GetMapping() => PreprocessingMappings.FromImage;
}

/// <summary>Infrastructure for saved models: loads the preprocessing step of an encoded-bytes column.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(PreprocessingMappings.BytesContract)]
public sealed class BytesPreprocessingFactory : CustomMappingFactory<ImageBytesRow, PixelsRow>
{
    /// <inheritdoc/>
    public override Action<ImageBytesRow, PixelsRow> GetMapping() => PreprocessingMappings.FromBytes;
}

/// <summary>Infrastructure for saved models: loads the preprocessing step of an image-path column.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(PreprocessingMappings.PathContract)]
public sealed class PathPreprocessingFactory : CustomMappingFactory<ImagePathRow, PixelsRow>
{
    /// <inheritdoc/>
    public override Action<ImagePathRow, PixelsRow> GetMapping() => PreprocessingMappings.FromPath;
}

/// <summary>Infrastructure for saved models: the column from which the sizes of a preprocessing other than ImageNet's are computed.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(PreprocessingMappings.TickContract)]
public sealed class TickFactory : CustomMappingFactory<NoColumnsRow, TickRow>
{
    /// <inheritdoc/>
    public override Action<NoColumnsRow, TickRow> GetMapping() => PreprocessingMappings.Tick;
}

/// <summary>Infrastructure for saved models: loads the preprocessing step of an image column, for a preprocessing other than ImageNet's.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(PreprocessingMappings.SizedImageContract)]
public sealed class SizedImagePreprocessingFactory : CustomMappingFactory<SizedImageRow, SizedPixelsRow>
{
    /// <summary>Registers the image type ML.NET needs to map <see cref="SizedImageRow"/>.</summary>
    public SizedImagePreprocessingFactory() => PreprocessingMappings.RegisterImageType();

    /// <inheritdoc/>
    public override Action<SizedImageRow, SizedPixelsRow> GetMapping() => PreprocessingMappings.FromImage;
}

/// <summary>Infrastructure for saved models: loads the preprocessing step of an encoded-bytes column, for a preprocessing other than ImageNet's.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(PreprocessingMappings.SizedBytesContract)]
public sealed class SizedBytesPreprocessingFactory : CustomMappingFactory<SizedImageBytesRow, SizedPixelsRow>
{
    /// <inheritdoc/>
    public override Action<SizedImageBytesRow, SizedPixelsRow> GetMapping() => PreprocessingMappings.FromBytes;
}

/// <summary>Infrastructure for saved models: loads the preprocessing step of an image-path column, for a preprocessing other than ImageNet's.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(PreprocessingMappings.SizedPathContract)]
public sealed class SizedPathPreprocessingFactory : CustomMappingFactory<SizedImagePathRow, SizedPixelsRow>
{
    /// <inheritdoc/>
    public override Action<SizedImagePathRow, SizedPixelsRow> GetMapping() => PreprocessingMappings.FromPath;
}
