using System.ComponentModel;
using GoodTransfer.ML.Imaging;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// torchvision's eval transform (Resize(256), CenterCrop(224), ToTensor) as ML.NET custom mappings, one
/// per kind of input column. Their contract names are what a saved model records; ML.NET finds them
/// again in this assembly when the model is loaded, so the names never change once published.
/// </summary>
internal static class PreprocessingMappings
{
    public const string ImageContract = "GoodTransfer.ML.Preprocess.Image.v1";
    public const string BytesContract = "GoodTransfer.ML.Preprocess.Bytes.v1";
    public const string PathContract = "GoodTransfer.ML.Preprocess.Path.v1";

    public static void FromImage(ImageRow input, PixelsRow output) =>
        TorchvisionTransform.ImageNet.ToTensor(Decode(input.Image), output.Pixels);

    public static void FromBytes(ImageBytesRow input, PixelsRow output) =>
        TorchvisionTransform.ImageNet.ToTensor(Decode(input.Bytes), output.Pixels);

    public static void FromPath(ImagePathRow input, PixelsRow output) =>
        TorchvisionTransform.ImageNet.ToTensor(DecodeFile(input.Path), output.Pixels);

    /// <summary>A row's image from an image column; the same on the batched path and in a saved model.</summary>
    public static RgbImage Decode(MLImage? image) =>
        image is null
            ? throw new InvalidImageException("an image column", "the row holds no image (null)")
            : ImageDecoder.FromMLImage(image, "an image of the input column");

    /// <summary>A row's image from a column of encoded bytes.</summary>
    public static RgbImage Decode(byte[]? bytes)
    {
        bytes ??= [];
        return ImageDecoder.Decode(bytes, $"encoded image bytes ({bytes.Length} bytes)");
    }

    /// <summary>A row's image from a column of paths.</summary>
    public static RgbImage DecodeFile(string? path) =>
        string.IsNullOrEmpty(path)
            ? throw new InvalidImageException("an image path column", "the row's path is empty")
            : ImageDecoder.DecodeFile(path);

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
