using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace GoodTransfer.ML.Imaging;

/// <summary>
/// Pillow's reading of a 16-bit grayscale PNG, which Skia cannot give: Pillow 9.4 opens it as
/// mode <c>I</c> (<c>PngImagePlugin</c>: bit depth 16, colour type 0) and <c>convert('RGB')</c>
/// clamps each sample at 255 (<c>Convert.c</c>, <c>i2rgb</c>), so only samples below 256 keep a
/// shade and nearly every pixel of such a photo turns white. Skia keeps each sample's high byte
/// instead, so this class decodes the samples itself: chunks, zlib, the five PNG row filters and
/// Adam7 interlacing. It only runs on files that Skia has already decoded in full (checksums,
/// complete data), and still checks every size it reads.
/// </summary>
internal static class PngGray16
{
    private const int BytesPerPixel = 2;

    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>(first column, first row, column step, row step) of Adam7's seven passes.</summary>
    private static ReadOnlySpan<byte> Adam7 => [0, 0, 8, 8, 4, 0, 8, 8, 0, 4, 4, 8, 2, 0, 4, 4, 0, 2, 2, 4, 1, 0, 2, 2, 0, 1, 1, 2];

    /// <summary>Whether <paramref name="encoded"/> is a PNG of 16-bit grayscale samples without alpha.</summary>
    public static bool Is(ReadOnlySpan<byte> encoded) =>
        encoded.Length >= 29
        && encoded[..8].SequenceEqual(Signature)
        && encoded.Slice(12, 4).SequenceEqual("IHDR"u8)
        && encoded[24] == 16
        && encoded[25] == 0;

    /// <summary>Writes Pillow's <c>convert('RGB')</c> of the PNG into <paramref name="rgb"/>.</summary>
    /// <exception cref="InvalidImageException">The file does not hold the samples its header promises.</exception>
    public static void DecodeClamped(ReadOnlySpan<byte> png, int width, int height, Span<byte> rgb, string source)
    {
        var interlaced = png[28] == 1;
        var rawLength = 0L;
        for (var pass = 0; pass < (interlaced ? 7 : 1); pass++)
        {
            var (_, _, _, _, passWidth, passHeight) = Pass(pass, interlaced, width, height);
            if (passWidth > 0 && passHeight > 0)
            {
                rawLength += passHeight * (1L + ((long)passWidth * BytesPerPixel));
            }
        }

        if (rawLength > int.MaxValue)
        {
            throw new InvalidImageException(source, "its 16-bit samples do not fit in memory");
        }

        var compressed = ArrayPool<byte>.Shared.Rent(png.Length);
        var raw = ArrayPool<byte>.Shared.Rent((int)rawLength);
        try
        {
            var compressedLength = CopyImageData(png, compressed, source);
            Inflate(compressed, compressedLength, raw.AsSpan(0, (int)rawLength), source);
            Unfilter(raw.AsSpan(0, (int)rawLength), width, height, interlaced, rgb, source);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    /// <summary>Concatenates the IDAT chunks' data, the zlib stream.</summary>
    private static int CopyImageData(ReadOnlySpan<byte> png, byte[] destination, string source)
    {
        var length = 0;
        var offset = 8;
        while (offset + 12 <= png.Length)
        {
            var chunkLength = BinaryPrimitives.ReadUInt32BigEndian(png.Slice(offset, 4));
            var type = png.Slice(offset + 4, 4);
            if (chunkLength > (uint)(png.Length - offset - 12))
            {
                throw new InvalidImageException(source, $"a PNG chunk at offset {offset} runs past the end of the file");
            }

            if (type.SequenceEqual("IDAT"u8))
            {
                png.Slice(offset + 8, (int)chunkLength).CopyTo(destination.AsSpan(length));
                length += (int)chunkLength;
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                break;
            }

            offset += 12 + (int)chunkLength;
        }

        return length;
    }

    private static void Inflate(byte[] compressed, int length, Span<byte> raw, string source)
    {
        try
        {
            using var zlib = new ZLibStream(new MemoryStream(compressed, 0, length, writable: false), CompressionMode.Decompress);
            zlib.ReadExactly(raw);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new InvalidImageException(source, "its 16-bit image data does not inflate to the size its header gives", e);
        }
    }

    /// <summary>Undoes each row's filter, pass by pass, and places every sample, clamped at 255.</summary>
    private static void Unfilter(Span<byte> raw, int width, int height, bool interlaced, Span<byte> rgb, string source)
    {
        var offset = 0;
        for (var pass = 0; pass < (interlaced ? 7 : 1); pass++)
        {
            var (firstColumn, firstRow, columnStep, rowStep, passWidth, passHeight) = Pass(pass, interlaced, width, height);
            if (passWidth == 0 || passHeight == 0)
            {
                continue;
            }

            var rowBytes = passWidth * BytesPerPixel;
            Span<byte> previous = [];
            for (var y = 0; y < passHeight; y++)
            {
                var filter = raw[offset];
                var row = raw.Slice(offset + 1, rowBytes);
                UnfilterRow(filter, row, previous, source);
                var outputRow = rgb.Slice(((firstRow + (y * rowStep)) * width) * 3);
                for (var x = 0; x < passWidth; x++)
                {
                    var sample = BinaryPrimitives.ReadUInt16BigEndian(row.Slice(x * BytesPerPixel, BytesPerPixel));
                    var value = (byte)Math.Min(sample, (ushort)255);
                    var pixel = outputRow.Slice((firstColumn + (x * columnStep)) * 3, 3);
                    pixel[0] = value;
                    pixel[1] = value;
                    pixel[2] = value;
                }

                previous = row;
                offset += 1 + rowBytes;
            }
        }
    }

    private static void UnfilterRow(byte filter, Span<byte> row, ReadOnlySpan<byte> previous, string source)
    {
        switch (filter)
        {
            case 0:
                break;
            case 1: // Sub
                for (var i = BytesPerPixel; i < row.Length; i++)
                {
                    row[i] += row[i - BytesPerPixel];
                }

                break;
            case 2: // Up
                for (var i = 0; i < previous.Length; i++)
                {
                    row[i] += previous[i];
                }

                break;
            case 3: // Average
                for (var i = 0; i < row.Length; i++)
                {
                    var left = i >= BytesPerPixel ? row[i - BytesPerPixel] : 0;
                    var up = previous.IsEmpty ? 0 : previous[i];
                    row[i] += (byte)((left + up) >> 1);
                }

                break;
            case 4: // Paeth
                for (var i = 0; i < row.Length; i++)
                {
                    var left = i >= BytesPerPixel ? row[i - BytesPerPixel] : 0;
                    var up = previous.IsEmpty ? 0 : previous[i];
                    var upLeft = i >= BytesPerPixel && !previous.IsEmpty ? previous[i - BytesPerPixel] : 0;
                    row[i] += Paeth(left, up, upLeft);
                }

                break;
            default:
                throw new InvalidImageException(source, $"a row of its 16-bit image data has filter type {filter}, not 0 to 4");
        }
    }

    private static byte Paeth(int left, int up, int upLeft)
    {
        var estimate = left + up - upLeft;
        var toLeft = Math.Abs(estimate - left);
        var toUp = Math.Abs(estimate - up);
        var toUpLeft = Math.Abs(estimate - upLeft);
        if (toLeft <= toUp && toLeft <= toUpLeft)
        {
            return (byte)left;
        }

        return (byte)(toUp <= toUpLeft ? up : upLeft);
    }

    /// <summary>Where a pass's pixels lie, and its size; one pass of the whole image when not interlaced.</summary>
    private static (int FirstColumn, int FirstRow, int ColumnStep, int RowStep, int Width, int Height) Pass(int pass, bool interlaced, int width, int height)
    {
        if (!interlaced)
        {
            return (0, 0, 1, 1, width, height);
        }

        int firstColumn = Adam7[4 * pass], firstRow = Adam7[(4 * pass) + 1], columnStep = Adam7[(4 * pass) + 2], rowStep = Adam7[(4 * pass) + 3];
        return (firstColumn, firstRow, columnStep, rowStep, PassSize(width, firstColumn, columnStep), PassSize(height, firstRow, rowStep));
    }

    private static int PassSize(int size, int first, int step) => size > first ? ((size - first + step - 1) / step) : 0;
}
