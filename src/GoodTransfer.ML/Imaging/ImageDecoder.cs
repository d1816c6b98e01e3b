using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Microsoft.ML.Data;
using SkiaSharp;

namespace GoodTransfer.ML.Imaging;

/// <summary>
/// Decodes an image into the pixels that Pillow's <c>Image.open(f).convert('RGB')</c> gives.
/// </summary>
/// <remarks>
/// <para>
/// SkiaSharp decodes, into unpremultiplied RGBA with no colour space, so that no colour
/// management is applied (Pillow applies none, even to an embedded ICC profile) and no alpha is
/// premultiplied. Alpha is then dropped, as <c>convert('RGB')</c> does. Skia uses libjpeg-turbo
/// and libpng as Pillow does; on the fixture images the decoded pixels are identical for baseline
/// and progressive JPEGs at every chroma subsampling, grayscale and CMYK (Adobe) JPEGs, 8-bit,
/// palette, 1-bit, grayscale, grayscale-with-alpha and RGBA PNGs, and 16-bit RGB PNGs (both keep
/// each sample's high byte). Checked outside the fixtures: GIF, BMP, WebP (lossy and lossless),
/// 16-bit grayscale-with-alpha and 16-bit RGBA PNGs. The one exception, 16-bit grayscale PNGs,
/// which Pillow clamps at 255 where Skia keeps the high byte, is decoded by <see cref="PngGray16"/>
/// once Skia has checked the file. Where the system's TurboJPEG library is installed, <see cref="TurboJpeg"/> decodes
/// JPEGs instead, with the same pixels at a third to a half of Skia's cost (libjpeg-turbo's SIMD code, which Skia's bundled
/// copy lacks), and hands back to Skia any JPEG it does not decode cleanly.
/// </para>
/// <para>
/// The EXIF orientation is ignored, as torchvision ignores it. A truncated or corrupt image is
/// refused, as Pillow refuses it by default, rather than decoded in part.
/// </para>
/// </remarks>
internal static class ImageDecoder
{
    /// <summary>
    /// The largest image decoded, in pixels, checked from the header before any pixel is decoded.
    /// Pillow refuses more than 2 x 89,478,485 pixels (its DecompressionBombError); an RGBA
    /// decode of 100 megapixels already needs 400 MB.
    /// </summary>
    public const long MaxPixels = 100_000_000;

    /// <summary>Decodes the image file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">No file exists at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidImageException">The file is not an image that can be decoded.</exception>
    public static RgbImage DecodeFile(string path)
    {
        using var image = EncodedImage.OpenFile(path);
        return image.Decode();
    }

    /// <summary>Decodes an encoded image (JPEG, PNG, GIF, BMP, WebP, ...).</summary>
    /// <param name="encoded">The encoded bytes.</param>
    /// <param name="source">What error messages call the image, such as "image bytes in row 12".</param>
    /// <exception cref="InvalidImageException">The bytes are not an image that can be decoded.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string source)
    {
        using var image = EncodedImage.Open(encoded, source);
        return image.Decode();
    }

    /// <summary>
    /// Converts an ML.NET image. Opaque images convert exactly. <see cref="MLImage"/> holds its
    /// colours premultiplied by alpha (its bitmap is declared premultiplied, and Skia premultiplies
    /// when it decodes), so they are unpremultiplied here, <c>c * 255 / a</c> rounded: the closest
    /// recovery, not exact, and black where alpha is 0. For images with alpha, decode from the
    /// file or the bytes instead, which is exact.
    /// </summary>
    /// <param name="image">The image; it is read, not disposed.</param>
    /// <param name="source">What error messages call the image.</param>
    /// <exception cref="InvalidImageException">The image's pixel format is not BGRA or RGBA, or it is too large.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static RgbImage FromMLImage(MLImage image, string source)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(source);
        int width = image.Width, height = image.Height;
        CheckSize(width, height, source);
        int red, blue;
        switch (image.PixelFormat)
        {
            case MLPixelFormat.Bgra32:
                (red, blue) = (2, 0);
                break;
            case MLPixelFormat.Rgba32:
                (red, blue) = (0, 2);
                break;
            default:
                throw new InvalidImageException(source, $"pixel format {image.PixelFormat} is not supported (BGRA32 or RGBA32 are)");
        }

        var pixelCount = width * height;
        var input = image.Pixels;
        if (input.Length != pixelCount * 4)
        {
            throw new InvalidImageException(source, $"a {width}x{height} image holds {input.Length} bytes of pixels, not {pixelCount * 4}");
        }

        var output = new byte[pixelCount * 3];
        for (var i = 0; i < pixelCount; i++)
        {
            var pixel = input.Slice(4 * i, 4);
            var alpha = pixel[3];
            var rgb = output.AsSpan(3 * i, 3);
            if (alpha == 255)
            {
                rgb[0] = pixel[red];
                rgb[1] = pixel[1];
                rgb[2] = pixel[blue];
            }
            else if (alpha != 0)
            {
                rgb[0] = Unpremultiply(pixel[red], alpha);
                rgb[1] = Unpremultiply(pixel[1], alpha);
                rgb[2] = Unpremultiply(pixel[blue], alpha);
            }
        }

        return new RgbImage(width, height, output);
    }

    /// <summary>Refuses a size from an image's header that is empty or over <see cref="MaxPixels"/>.</summary>
    internal static void CheckSize(int width, int height, string source)
    {
        if (width <= 0 || height <= 0)
        {
            throw new InvalidImageException(source, $"its header gives a size of {width}x{height}");
        }

        if ((long)width * height > MaxPixels)
        {
            throw new InvalidImageException(source, $"it is {width}x{height}, {(long)width * height} pixels, more than the limit of {MaxPixels}");
        }
    }

    /// <summary>RGBA to RGB. Four pixels at a time with one byte shuffle, then one by one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void DropAlpha(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        var pixelCount = rgb.Length / 3;
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            var keepRgb = Vector128.Create((byte)0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 255, 255, 255, 255);

            // Each step stores 16 bytes of which 12 are pixels; the next step overwrites the other 4.
            for (; (3 * i) + 16 <= rgb.Length; i += 4)
            {
                Vector128.Shuffle(Vector128.Create(rgba.Slice(4 * i, 16)), keepRgb).CopyTo(rgb.Slice(3 * i, 16));
            }
        }

        for (; i < pixelCount; i++)
        {
            rgb[3 * i] = rgba[4 * i];
            rgb[(3 * i) + 1] = rgba[(4 * i) + 1];
            rgb[(3 * i) + 2] = rgba[(4 * i) + 2];
        }
    }

    /// <summary>The closest 8-bit colour before premultiplication: round(c * 255 / a), at most 255.</summary>
    private static byte Unpremultiply(byte color, byte alpha) =>
        (byte)Math.Min(255, ((color * 255) + (alpha / 2)) / alpha);

    internal static string DescribeOpenFailure(SKCodecResult result) => result switch
    {
        SKCodecResult.Unimplemented => "it is not in a format that can be decoded (JPEG, PNG, GIF, BMP, WebP, ICO and WBMP can)",
        SKCodecResult.IncompleteInput => "the data ends inside the image header (truncated)",
        _ => $"its header is invalid ({result})",
    };

    internal static string DescribeDecodeFailure(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the data ends before the image does (truncated)",
        SKCodecResult.InvalidInput or SKCodecResult.ErrorInInput => $"the image data is corrupt ({result})",
        _ => $"the decoder reported {result}",
    };
}
