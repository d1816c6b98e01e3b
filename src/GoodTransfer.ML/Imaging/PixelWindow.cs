namespace GoodTransfer.ML.Imaging;

/// <summary>
/// The part of an 8-bit image that is in memory: columns <see cref="Left"/> .. <see cref="Left"/> +
/// <see cref="Width"/> - 1 of rows <see cref="Top"/> .. <see cref="Top"/> + <see cref="Height"/> - 1 of an
/// <see cref="ImageWidth"/> x <see cref="ImageHeight"/> image, each pixel R, G, B (3 bytes) or R, G, B, A
/// (4 bytes, the alpha ignored). A whole <see cref="RgbImage"/> is one; so is what a decoder decoded of the
/// rows and columns that a resize reads.
/// </summary>
internal readonly ref struct PixelWindow
{
    /// <summary>Describes <paramref name="pixels"/>, which it does not copy.</summary>
    /// <exception cref="ArgumentException">The window is not inside the image, or <paramref name="pixels"/> is too short for it.</exception>
    public PixelWindow(ReadOnlySpan<byte> pixels, int bytesPerPixel, int stride, int imageWidth, int imageHeight, int left, int top, int width, int height)
    {
        if (bytesPerPixel is not (3 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(bytesPerPixel), bytesPerPixel, "Pixels are RGB (3 bytes) or RGBA (4 bytes).");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(imageWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (left < 0 || top < 0 || left > imageWidth - width || top > imageHeight - height)
        {
            throw new ArgumentException($"A window of {width}x{height} at ({left}, {top}) is not inside the {imageWidth}x{imageHeight} image.");
        }

        if (stride < (long)width * bytesPerPixel || pixels.Length < ((long)(height - 1) * stride) + ((long)width * bytesPerPixel))
        {
            throw new ArgumentException($"{pixels.Length} bytes with {stride} bytes per row cannot hold {width}x{height} pixels of {bytesPerPixel} bytes.", nameof(pixels));
        }

        Pixels = pixels;
        BytesPerPixel = bytesPerPixel;
        Stride = stride;
        ImageWidth = imageWidth;
        ImageHeight = imageHeight;
        Left = left;
        Top = top;
        Width = width;
        Height = height;
    }

    /// <summary>The pixels from the window's top-left one, <see cref="Stride"/> bytes from one row to the next.</summary>
    public ReadOnlySpan<byte> Pixels { get; }

    /// <summary>3 for RGB, 4 for RGBA.</summary>
    public int BytesPerPixel { get; }

    public int Stride { get; }

    public int ImageWidth { get; }

    public int ImageHeight { get; }

    /// <summary>The image column of the window's first column.</summary>
    public int Left { get; }

    /// <summary>The image row of the window's first row.</summary>
    public int Top { get; }

    public int Width { get; }

    public int Height { get; }

    /// <summary>The whole of <paramref name="image"/>.</summary>
    public static PixelWindow Of(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return new PixelWindow(image.Pixels, 3, image.Stride, image.Width, image.Height, 0, 0, image.Width, image.Height);
    }

    /// <summary>Whether the window holds every pixel of the given columns and rows of the image.</summary>
    public bool Contains(int firstColumn, int columns, int firstRow, int rows) =>
        firstColumn >= Left && firstColumn + columns <= Left + Width && firstRow >= Top && firstRow + rows <= Top + Height;
}
