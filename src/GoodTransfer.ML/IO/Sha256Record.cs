using System.Globalization;

namespace GoodTransfer.ML.IO;

/// <summary>
/// The SHA-256 of a cached file, kept beside it as <c>&lt;file&gt;.sha256</c> in <c>sha256sum</c>'s format
/// (<c>&lt;64 hex digits&gt;  &lt;file name&gt;</c>), so <c>sha256sum -c</c> checks it too, and a cache copied to
/// another machine carries its records. Checkpoints and converted models both have one.
/// </summary>
internal static class Sha256Record
{
    public static string PathFor(string file) => file + ".sha256";

    /// <summary>
    /// The record of <paramref name="file"/>: its hash in lower-case hex; <see cref="RecordedSha256.Missing"/> when there
    /// is none; or unreadable, with the reason, when a record exists but cannot be read or is not a SHA-256 line.
    /// An unreadable record proves nothing about the file: it is never taken for a missing one.
    /// </summary>
    public static RecordedSha256 Read(string file)
    {
        var record = PathFor(file);
        string text;
        try
        {
            text = File.ReadAllText(record);
        }
        catch (FileNotFoundException)
        {
            return RecordedSha256.Missing;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return RecordedSha256.Unreadable($"'{record}' cannot be read ({e.Message})");
        }

        var hash = text.Split([' ', '\t', '\n', '\r'], 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return Sha256Hex.IsHash(hash)
            ? RecordedSha256.Of(hash!.ToLowerInvariant())
            : RecordedSha256.Unreadable($"'{record}' is not a SHA-256 record (it should hold 64 hex digits, two spaces and the file name)");
    }

    /// <summary>Writes the record through a temporary file and a move, so a reader sees the old record or the new one, never half of one.</summary>
    public static void Write(string file, string sha256) =>
        AtomicFile.WriteText(PathFor(file), string.Create(CultureInfo.InvariantCulture, $"{sha256}  {Path.GetFileName(file)}\n"));

    /// <summary>Deletes the record of <paramref name="file"/>, if there is one.</summary>
    public static void Delete(string file)
    {
        var record = PathFor(file);
        if (File.Exists(record))
        {
            File.Delete(record);
        }
    }
}

/// <summary>What a <c>.sha256</c> record says: a hash, nothing (no record), or that it cannot be read (<see cref="Problem"/>).</summary>
/// <param name="Sha256">The recorded hash, lower-case hex; <see langword="null"/> when missing or unreadable.</param>
/// <param name="Problem">Why the record cannot be trusted; <see langword="null"/> when it holds a hash or is missing.</param>
internal readonly record struct RecordedSha256(string? Sha256, string? Problem)
{
    public static RecordedSha256 Missing => default;

    public bool IsMissing => Sha256 is null && Problem is null;

    public static RecordedSha256 Of(string sha256) => new(sha256, null);

    public static RecordedSha256 Unreadable(string problem) => new(null, problem);
}
