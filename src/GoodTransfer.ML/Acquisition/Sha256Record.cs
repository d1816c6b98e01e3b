using System.Globalization;
using GoodTransfer.ML.IO;

namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// The SHA-256 of a downloaded checkpoint, kept beside it as <c>&lt;file&gt;.sha256</c> in
/// <c>sha256sum</c>'s format (<c>&lt;64 hex digits&gt;  &lt;file name&gt;</c>), so <c>sha256sum -c</c>
/// checks it too, and a cache copied to another machine carries its records.
/// </summary>
internal static class Sha256Record
{
    public static string PathFor(string file) => file + ".sha256";

    /// <summary>The recorded hash in lower-case hex; <see langword="null"/> when there is no record or it is not a SHA-256 line.</summary>
    public static string? Read(string file)
    {
        string text;
        try
        {
            text = File.ReadAllText(PathFor(file));
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        var hash = text.Split([' ', '\t', '\n', '\r'], 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return Sha256Hex.IsHash(hash) ? hash!.ToLowerInvariant() : null;
    }

    /// <summary>Writes the record through a temporary file and a move, so a reader sees the old record or the new one, never half of one.</summary>
    public static void Write(string file, string sha256) =>
        AtomicFile.WriteText(PathFor(file), string.Create(CultureInfo.InvariantCulture, $"{sha256}  {Path.GetFileName(file)}\n"));
}
