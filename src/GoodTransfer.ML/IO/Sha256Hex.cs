using System.Security.Cryptography;

namespace GoodTransfer.ML.IO;

/// <summary>SHA-256 hashes as the library writes them everywhere: 64 lower-case hex digits, as <c>sha256sum</c> prints them.</summary>
internal static class Sha256Hex
{
    /// <summary>The hex form of a 32-byte hash.</summary>
    public static string Format(ReadOnlySpan<byte> hash) => Convert.ToHexString(hash).ToLowerInvariant();

    /// <summary>The SHA-256 of the bytes of the file at <paramref name="path"/>.</summary>
    public static string OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Format(SHA256.HashData(stream));
    }

    /// <summary>Whether <paramref name="text"/> is a SHA-256 in hex (either case).</summary>
    public static bool IsHash(string? text) => text is { Length: 64 } && text.All(char.IsAsciiHexDigit);
}
