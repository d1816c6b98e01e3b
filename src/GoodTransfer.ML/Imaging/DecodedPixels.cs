using System.Buffers;

namespace GoodTransfer.ML.Imaging;

/// <summary>
/// Pixels that <see cref="EncodedImage.DecodeWindow"/> decoded into a buffer rented from the shared array pool:
/// all of an image, or a window of it. Whoever decoded it disposes it, which returns the buffer; its
/// <see cref="Window"/> must not be used after that, and is never handed out (an <see cref="RgbImage"/> owns
/// its own array).
/// </summary>
internal sealed class DecodedPixels : IDisposable
{
    private readonly int length;
    private readonly int bytesPerPixel;
    private readonly int stride;
    private readonly int imageWidth;
    private readonly int imageHeight;
    private readonly int left;
    private readonly int top;
    private readonly int width;
    private readonly int height;
    private byte[]? buffer;

    /// <summary>Takes <paramref name="rented"/>, from <see cref="ArrayPool{T}.Shared"/>, which it returns when disposed.</summary>
    public DecodedPixels(byte[] rented, int bytesPerPixel, int stride, int imageWidth, int imageHeight, int left, int top, int width, int height)
    {
        buffer = rented;
        length = ((height - 1) * stride) + (width * bytesPerPixel);
        this.bytesPerPixel = bytesPerPixel;
        this.stride = stride;
        this.imageWidth = imageWidth;
        this.imageHeight = imageHeight;
        this.left = left;
        this.top = top;
        this.width = width;
        this.height = height;

        // Checks the geometry once, here, rather than at each use.
        _ = Window;
    }

    /// <summary>The decoded pixels: RGBA, or RGB where the decoder made RGB itself (16-bit grayscale PNGs).</summary>
    public PixelWindow Window
    {
        get
        {
            ObjectDisposedException.ThrowIf(buffer is null, this);
            return new PixelWindow(buffer.AsSpan(0, length), bytesPerPixel, stride, imageWidth, imageHeight, left, top, width, height);
        }
    }

    /// <summary>Whether the pixels are the whole image rather than a window of it.</summary>
    public bool IsWholeImage => width == imageWidth && height == imageHeight;

    public void Dispose()
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }
}
