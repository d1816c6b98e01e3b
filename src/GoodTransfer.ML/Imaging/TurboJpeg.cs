using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace GoodTransfer.ML.Imaging;

/// <summary>Which decoder decodes a JPEG's pixels.</summary>
internal enum JpegDecoder
{
    /// <summary>The system's TurboJPEG where <see cref="TurboJpeg.IsAvailable"/>, and Skia otherwise or where TurboJPEG declines.</summary>
    Fastest,

    /// <summary>Skia's bundled libjpeg-turbo only.</summary>
    Skia,
}

/// <summary>
/// Whole-JPEG decodes through the system's TurboJPEG library (libjpeg-turbo's <c>libturbojpeg</c>: Debian's and
/// Ubuntu's <c>libturbojpeg0</c>, Fedora's <c>turbojpeg</c>, Homebrew's <c>jpeg-turbo</c>, <c>turbojpeg.dll</c> on
/// Windows), where it is installed. It is libjpeg-turbo built with its SIMD code, which Skia's bundled copy (2.1.5.1 in
/// SkiaSharp 2.88) lacks: on a Zen 4 core it decodes the benchmark's photos in 0.69 ms against Skia's 1.4-2.2 ms, and the
/// same pixels (on valid JPEGs libjpeg-turbo's SIMD kernels are bit-exact with its C ones; accurate integer IDCT and
/// fancy upsampling, Pillow's settings, are TurboJPEG's defaults). On a corrupt JPEG that decodes without a warning the
/// two can differ where corrupt coefficients overflow; TurboJPEG then gives Pillow's pixels (Pillow's libjpeg-turbo runs the
/// same SIMD code: 257 of 257 such corruptions of the test fixtures, checked against Pillow).
/// </summary>
/// <remarks>
/// <para>
/// It speeds a decode up and changes no error, nor any pixel of a valid JPEG. It is used when the library loads, exports the
/// TurboJPEG 2.0 API (with <c>tjGetErrorCode</c>) and, on three small JPEGs that Skia encodes here at 4:2:0, 4:2:2 and
/// 4:4:4, decodes exactly Skia's pixels. A JPEG it declines is decoded by Skia as before: one whose header it reads
/// differently from Skia's, a CMYK or YCCK one, and any that gives an error or a warning (it stops at the first warning,
/// and at more than 500 progressive scans), so a truncated or corrupt JPEG gets Skia's pixels or Skia's error.
/// </para>
/// <para>
/// <c>GOODTRANSFER_TURBOJPEG</c> chooses: <c>off</c> (Skia only), a path to the library, or unset (the system's, by
/// its usual names). TurboJPEG's handles are native: they are pooled here, one per concurrent decode, for the process's
/// life, and a handle that reported an error is destroyed rather than reused.
/// </para>
/// </remarks>
internal static class TurboJpeg
{
    /// <summary>The environment variable that turns TurboJPEG off or names its library.</summary>
    public const string EnvironmentVariable = "GOODTRANSFER_TURBOJPEG";

    /// <summary>The name the P/Invokes below use; <see cref="Resolve"/> maps it to the library that was found.</summary>
    private const string ImportName = "goodtransfer-turbojpeg";

    private const int PixelFormatRgb = 0;
    private const int ColorspaceCmyk = 3;
    private const int ColorspaceYcck = 4;

    /// <summary><c>TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS</c>: decline at the first warning, and past 500 progressive scans.</summary>
    private const int Flags = 8192 | 32768;

    private static readonly ConcurrentBag<IntPtr> Handles = [];
    private static readonly Lazy<(IntPtr Library, string Status)> Loaded = new(() => Load(Environment.GetEnvironmentVariable(EnvironmentVariable)));
    private static readonly object ResolverLock = new();
    private static bool resolverSet;

    /// <summary>Whether whole JPEGs are decoded by TurboJPEG (see the remarks above for when).</summary>
    public static bool IsAvailable => Loaded.Value.Library != IntPtr.Zero;

    /// <summary>Which library decodes JPEGs and why, for logs and diagnostics: "TurboJPEG (libturbojpeg.so.0)", or why not.</summary>
    public static string Status => Loaded.Value.Status;

    /// <summary>
    /// The whole JPEG of <paramref name="length"/> bytes at <paramref name="jpeg"/> as RGB, in a buffer rented from the
    /// shared pool, or null where TurboJPEG is not available or declines this JPEG (see the remarks above).
    /// </summary>
    /// <param name="jpeg">The encoded bytes, in native memory that stays put for the call.</param>
    /// <param name="length">How many bytes.</param>
    /// <param name="width">The width that Skia read from the header.</param>
    /// <param name="height">The height that Skia read from the header.</param>
    public static DecodedPixels? TryDecode(IntPtr jpeg, long length, int width, int height) =>
        IsAvailable ? Decode(jpeg, length, width, height) : null;

    /// <summary><see cref="TryDecode"/> once the library is resolved, whether or not it has passed the self-check.</summary>
    private static DecodedPixels? Decode(IntPtr jpeg, long length, int width, int height)
    {
        var handle = Rent();
        if (handle == IntPtr.Zero)
        {
            return null;
        }

        var healthy = false;
        byte[]? rgb = null;
        try
        {
            var size = new CULong(checked((nuint)length));
            if (DecompressHeader(handle, jpeg, size, out var headerWidth, out var headerHeight, out _, out var colorspace) != 0)
            {
                return null;
            }

            if (headerWidth != width || headerHeight != height || colorspace is ColorspaceCmyk or ColorspaceYcck)
            {
                // Declined for what the header says, not after an error: the handle stays good.
                healthy = true;
                return null;
            }

            var stride = checked(width * 3);
            rgb = ArrayPool<byte>.Shared.Rent(checked(stride * height));
            if (Decompress(handle, jpeg, size, rgb, width, stride, height, PixelFormatRgb, Flags) != 0)
            {
                return null;
            }

            healthy = true;
            var pixels = new DecodedPixels(rgb, 3, stride, width, height, 0, 0, width, height);
            rgb = null;
            return pixels;
        }
        finally
        {
            if (rgb is not null)
            {
                ArrayPool<byte>.Shared.Return(rgb);
            }

            if (healthy)
            {
                Handles.Add(handle);
            }
            else
            {
                _ = Destroy(handle);
            }
        }
    }

    private static IntPtr Rent() => Handles.TryTake(out var handle) ? handle : InitDecompress();

    /// <summary>Finds, loads and checks the library that <paramref name="setting"/> (<see cref="EnvironmentVariable"/>'s value) names.</summary>
    internal static (IntPtr Library, string Status) Load(string? setting)
    {
        if (string.Equals(setting, "off", StringComparison.OrdinalIgnoreCase))
        {
            return (IntPtr.Zero, $"Skia (TurboJPEG turned off by {EnvironmentVariable}=off)");
        }

        string[] names = string.IsNullOrEmpty(setting)
            ? OperatingSystem.IsWindows() ? ["turbojpeg.dll", "libturbojpeg.dll"]
            : OperatingSystem.IsMacOS() ? ["libturbojpeg.0.dylib", "libturbojpeg.dylib", "/opt/homebrew/opt/jpeg-turbo/lib/libturbojpeg.dylib", "/usr/local/opt/jpeg-turbo/lib/libturbojpeg.dylib"]
            : ["libturbojpeg.so.0", "libturbojpeg.so"]
            : [setting];
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var library))
            {
                continue;
            }

            if (!NativeLibrary.TryGetExport(library, "tjGetErrorCode", out _))
            {
                NativeLibrary.Free(library);
                return (IntPtr.Zero, $"Skia ({name} is older than TurboJPEG 2.0)");
            }

            lock (ResolverLock)
            {
                Library = library;
                if (!resolverSet)
                {
                    NativeLibrary.SetDllImportResolver(typeof(TurboJpeg).Assembly, Resolve);
                    resolverSet = true;
                }
            }

            if (SelfCheck() is { } difference)
            {
                Library = IntPtr.Zero;
                return (IntPtr.Zero, $"Skia ({name} does not decode as Skia does: {difference})");
            }

            return (library, $"TurboJPEG ({name})");
        }

        return (IntPtr.Zero, string.IsNullOrEmpty(setting)
            ? $"Skia (no TurboJPEG library found: {string.Join(", ", names)})"
            : $"Skia ({EnvironmentVariable}={setting} could not be loaded)");
    }

    /// <summary>Set once, before the resolver below is asked; Zero when the self-check failed.</summary>
    private static IntPtr Library { get; set; }

    private static IntPtr Resolve(string name, System.Reflection.Assembly assembly, DllImportSearchPath? paths) =>
        name == ImportName ? Library : IntPtr.Zero;

    /// <summary>Null where TurboJPEG decodes three JPEGs, one per chroma subsampling, exactly as Skia does; else what differed.</summary>
    private static string? SelfCheck()
    {
        const int Width = 45, Height = 37;
        using var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (var y = 0; y < Height; y++)
        {
            for (var x = 0; x < Width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 5), (byte)((y * 7) ^ (x * 3)), (byte)((x + y) * 3)));
            }
        }

        using var pixmap = bitmap.PeekPixels();
        foreach (var subsampling in new[] { SKJpegEncoderDownsample.Downsample420, SKJpegEncoderDownsample.Downsample422, SKJpegEncoderDownsample.Downsample444 })
        {
            using var jpeg = pixmap.Encode(new SKJpegEncoderOptions(90, subsampling, SKJpegEncoderAlphaOption.Ignore));
            if (jpeg is null)
            {
                return $"Skia did not encode the {subsampling} JPEG";
            }

            using var image = EncodedImage.Open(jpeg.AsSpan(), "self-check", JpegDecoder.Skia);
            var expected = image.Decode();
            using var decoded = Decode(jpeg.Data, jpeg.Size, Width, Height);
            if (decoded is null || !decoded.Window.Pixels.SequenceEqual(expected.Pixels))
            {
                return decoded is null ? $"it declined the {subsampling} JPEG" : $"the {subsampling} JPEG's pixels differ";
            }
        }

        return null;
    }

    [DllImport(ImportName, EntryPoint = "tjInitDecompress")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern IntPtr InitDecompress();

    [DllImport(ImportName, EntryPoint = "tjDecompressHeader3")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int DecompressHeader(IntPtr handle, IntPtr jpeg, CULong length, out int width, out int height, out int subsampling, out int colorspace);

    [DllImport(ImportName, EntryPoint = "tjDecompress2")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Decompress(IntPtr handle, IntPtr jpeg, CULong length, byte[] destination, int width, int pitch, int height, int pixelFormat, int flags);

    [DllImport(ImportName, EntryPoint = "tjDestroy")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Destroy(IntPtr handle);
}
