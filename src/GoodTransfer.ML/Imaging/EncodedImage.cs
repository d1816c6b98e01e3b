using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace GoodTransfer.ML.Imaging;

/// <summary>
/// An encoded image whose header has been read and checked (its format known, its size within
/// <see cref="ImageDecoder.MaxPixels"/>), to be decoded whole or, for a resize, only where the resize reads.
/// It holds Skia's data, stream and codec, native handles: it must be disposed, by whoever opened it, and is
/// used by one thread at a time. The pixels are those of <see cref="ImageDecoder"/>, and so are the errors.
/// </summary>
internal sealed class EncodedImage : IDisposable
{
    /// <summary>
    /// Pixels decoded beyond each side of what a resize reads when only a window of a JPEG is decoded. libjpeg-turbo's
    /// column crop gives different pixels at the crop's edges (its fancy chroma upsampling has no neighbour there); one
    /// pixel differed in trials, and 16 is an iMCU of 4:2:0.
    /// </summary>
    public const int WindowMargin = 16;

    private readonly SKData data;
    private readonly SKMemoryStream stream;
    private readonly SKCodec codec;
    private readonly JpegDecoder jpegDecoder;

    private EncodedImage(SKData data, SKMemoryStream stream, SKCodec codec, string source, JpegDecoder jpegDecoder)
    {
        this.data = data;
        this.stream = stream;
        this.codec = codec;
        this.jpegDecoder = jpegDecoder;
        Source = source;
        Width = codec.Info.Width;
        Height = codec.Info.Height;
    }

    /// <summary>What error messages call the image: its path, or a description of its bytes.</summary>
    public string Source { get; }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Whether the image is a JPEG (always opaque: ML.NET's <c>MLImage</c> holds exactly its pixels).</summary>
    public bool IsJpeg => codec.EncodedFormat == SKEncodedImageFormat.Jpeg;

    /// <summary>Opens the image file at <paramref name="path"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="jpegDecoder">Which decoder decodes a JPEG's pixels (the same pixels either way: tests choose).</param>
    /// <exception cref="FileNotFoundException">No file exists at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidImageException">The file is not an image that can be decoded.</exception>
    public static EncodedImage OpenFile(string path, JpegDecoder jpegDecoder = JpegDecoder.Fastest)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new FileNotFoundException($"Image file '{path}' was not found.", path);
        }

        if (file.Length == 0)
        {
            throw new InvalidImageException(path, "the file is empty");
        }

        return Open(SKData.Create(path) ?? throw new IOException($"Cannot read image file '{path}'."), path, jpegDecoder);
    }

    /// <summary>Opens an encoded image (JPEG, PNG, GIF, BMP, WebP, ...), copying <paramref name="encoded"/>.</summary>
    /// <param name="encoded">The encoded bytes.</param>
    /// <param name="source">What error messages call the image, such as "image bytes in row 12".</param>
    /// <param name="jpegDecoder">Which decoder decodes a JPEG's pixels (the same pixels either way: tests choose).</param>
    /// <exception cref="InvalidImageException">The bytes are not an image that can be decoded.</exception>
    public static EncodedImage Open(ReadOnlySpan<byte> encoded, string source, JpegDecoder jpegDecoder = JpegDecoder.Fastest)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (encoded.IsEmpty)
        {
            throw new InvalidImageException(source, "the image is empty (0 bytes)");
        }

        return Open(SKData.CreateCopy(encoded), source, jpegDecoder);
    }

    /// <summary>Decodes the whole image into a new <see cref="RgbImage"/>, which owns its pixels.</summary>
    /// <exception cref="InvalidImageException">The image is truncated or corrupt.</exception>
    public RgbImage Decode()
    {
        using var whole = DecodeWhole();
        var window = whole.Window;
        var output = new byte[Width * Height * 3];
        if (window.BytesPerPixel == 3)
        {
            window.Pixels.CopyTo(output);
        }
        else
        {
            ImageDecoder.DropAlpha(window.Pixels, output);
        }

        return new RgbImage(Width, Height, output);
    }

    /// <summary>
    /// Decodes at least columns <paramref name="firstColumn"/> .. <paramref name="firstColumn"/> + <paramref name="columns"/> - 1
    /// of rows <paramref name="firstRow"/> .. <paramref name="firstRow"/> + <paramref name="rows"/> - 1 into pooled memory: only
    /// those, with a margin, for a baseline or progressive JPEG, and the whole image otherwise, or where the window decode fails
    /// (the whole decode then gives the pixels or today's error). Where <see cref="TurboJpeg"/> decodes JPEGs, it decodes
    /// this one whole instead, with the same pixels at a third to a half of the cost of Skia's whole decode and less than
    /// Skia's window. The caller disposes the result.
    /// </summary>
    /// <remarks>
    /// A JPEG window is decoded with Skia's scanline decoder: rows above the window skipped (libjpeg-turbo still reads their
    /// entropy-coded data but does no IDCT, upsampling or colour conversion), the window's columns cropped
    /// (<c>jpeg_crop_scanline</c>), the rows below skipped, then the image's last row decoded: skipping does not notice that
    /// the data ends early, decoding the last row does, so a truncated image is refused as the whole decode refuses it.
    /// The pixels inside the window equal the whole decode's for every subsampling, grayscale, CMYK and progressive
    /// JPEG in the tests. Options are zero-initialised for a reason beyond speed: SkiaSharp 2.88's
    /// <c>StartScanlineDecode</c> gives Skia a pointer to a stack copy of the subset, which Skia keeps: it fills the rows
    /// of an incomplete decode that wide, garbage by then (truncated JPEGs crashed a test process), unless the memory is
    /// declared zero-initialised, and otherwise reads it only for a colour transform, which a decode without colour
    /// space has not.
    /// </remarks>
    public DecodedPixels DecodeWindow(int firstColumn, int columns, int firstRow, int rows)
    {
        if (firstColumn < 0 || columns < 1 || firstColumn > Width - columns || firstRow < 0 || rows < 1 || firstRow > Height - rows)
        {
            throw new ArgumentOutOfRangeException(nameof(firstColumn), $"Columns {firstColumn}.. ({columns}) of rows {firstRow}.. ({rows}) are not inside the {Width}x{Height} image.");
        }

        var left = Math.Max(0, firstColumn - WindowMargin);
        var top = Math.Max(0, firstRow - WindowMargin);
        var right = Math.Min(Width, firstColumn + columns + WindowMargin);
        var bottom = Math.Min(Height, firstRow + rows + WindowMargin);
        var whole = left == 0 && top == 0 && right == Width && bottom == Height;
        if (TryTurboJpeg() is { } pixels)
        {
            return pixels;
        }

        if (!whole && IsJpeg && TryDecodeJpegWindow(left, top, right - left, bottom - top) is { } window)
        {
            return window;
        }

        return DecodeWithSkia();
    }

    public void Dispose()
    {
        codec.Dispose();
        stream.Dispose();
        data.Dispose();
    }

    private static EncodedImage Open(SKData data, string source, JpegDecoder jpegDecoder)
    {
        SKMemoryStream? stream = null;
        SKCodec? codec = null;
        try
        {
            stream = new SKMemoryStream(data);
            codec = SKCodec.Create(stream, out var opened)
                ?? throw new InvalidImageException(source, ImageDecoder.DescribeOpenFailure(opened));
            ImageDecoder.CheckSize(codec.Info.Width, codec.Info.Height, source);
            return new EncodedImage(data, stream, codec, source, jpegDecoder);
        }
        catch
        {
            codec?.Dispose();
            stream?.Dispose();
            data.Dispose();
            throw;
        }
    }

    /// <summary>Unpremultiplied RGBA of the whole image with no colour space, so that Skia converts no colours (Pillow applies no profile).</summary>
    private SKImageInfo RgbaInfo => new(Width, Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);

    private DecodedPixels DecodeWhole() => TryTurboJpeg() ?? DecodeWithSkia();

    /// <summary>The whole JPEG from TurboJPEG, or null where this is not a JPEG, Skia was chosen, or TurboJPEG declined it.</summary>
    private DecodedPixels? TryTurboJpeg() =>
        IsJpeg && jpegDecoder == JpegDecoder.Fastest ? TurboJpeg.TryDecode(data.Data, data.Size, Width, Height) : null;

    private DecodedPixels DecodeWithSkia()
    {
        var pixelCount = Width * Height;
        var rgba = ArrayPool<byte>.Shared.Rent(pixelCount * 4);
        byte[]? rgb = null;
        try
        {
            var decoded = codec.GetPixels(RgbaInfo, rgba);
            if (decoded != SKCodecResult.Success)
            {
                throw new InvalidImageException(Source, ImageDecoder.DescribeDecodeFailure(decoded));
            }

            if (codec.EncodedFormat == SKEncodedImageFormat.Png && PngGray16.Is(data.AsSpan()))
            {
                rgb = ArrayPool<byte>.Shared.Rent(pixelCount * 3);
                PngGray16.DecodeClamped(data.AsSpan(), Width, Height, rgb.AsSpan(0, pixelCount * 3), Source);
                var pixels = new DecodedPixels(rgb, 3, Width * 3, Width, Height, 0, 0, Width, Height);
                rgb = null;
                return pixels;
            }

            var result = new DecodedPixels(rgba, 4, Width * 4, Width, Height, 0, 0, Width, Height);
            rgba = null;
            return result;
        }
        finally
        {
            if (rgba is not null)
            {
                ArrayPool<byte>.Shared.Return(rgba);
            }

            if (rgb is not null)
            {
                ArrayPool<byte>.Shared.Return(rgb);
            }
        }
    }

    /// <summary>The window's pixels, or null where Skia did not decode every row of it and the last row of the image.</summary>
    private DecodedPixels? TryDecodeJpegWindow(int left, int top, int width, int height)
    {
        var rowBytes = width * 4;

        // One row more: the scratch row into which the image's last row is decoded.
        var rented = ArrayPool<byte>.Shared.Rent(checked(rowBytes * (height + 1)));
        var handle = GCHandle.Alloc(rented, GCHandleType.Pinned);
        DecodedPixels? pixels = null;
        try
        {
            var options = new SKCodecOptions { ZeroInitialized = SKZeroInitialized.Yes };
            if (width < Width)
            {
                options.Subset = new SKRectI(left, 0, left + width, Height);
            }

            var address = handle.AddrOfPinnedObject();
            var below = Height - top - height;
            var decoded = codec.StartScanlineDecode(RgbaInfo, options) == SKCodecResult.Success
                && (top == 0 || codec.SkipScanlines(top))
                && codec.GetScanlines(address, height, rowBytes) == height
                && (below == 0 || ((below == 1 || codec.SkipScanlines(below - 1)) && codec.GetScanlines(address + (height * rowBytes), 1, rowBytes) == 1));
            pixels = decoded ? new DecodedPixels(rented, 4, rowBytes, Width, Height, left, top, width, height) : null;
            return pixels;
        }
        finally
        {
            handle.Free();
            if (pixels is null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
