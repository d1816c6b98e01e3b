using GoodTransfer.ML.Imaging;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Runtime;

/// <summary>Decodes one row's image, whatever kind of column it came from; shared by the batched path and the saved preprocessing step.</summary>
internal static class ImageInputDecoding
{
    public static RgbImage FromImage(MLImage? image) =>
        image is null
            ? throw new InvalidImageException("an image column", "the row holds no image (null)")
            : ImageDecoder.FromMLImage(image, "an image of the input column");

    public static RgbImage FromBytes(byte[]? bytes)
    {
        bytes ??= [];
        return ImageDecoder.Decode(bytes, $"encoded image bytes ({bytes.Length} bytes)");
    }

    public static RgbImage FromPath(string? path) =>
        string.IsNullOrEmpty(path)
            ? throw new InvalidImageException("an image path column", "the row's path is empty")
            : ImageDecoder.DecodeFile(path);

    public static RgbImage Decode(ImageInputKind kind, object? input) => kind switch
    {
        ImageInputKind.Image => FromImage((MLImage?)input),
        ImageInputKind.Bytes => FromBytes((byte[]?)input),
        _ => FromPath((string?)input),
    };
}
