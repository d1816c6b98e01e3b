namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// What happens to files in a cache: a copy cut short, a disk that returns garbage, a region overwritten in
/// place, a <c>.sha256</c> record that is garbage or cannot be read. Each is named, so that a
/// <c>[Theory]</c> lists them.
/// </summary>
public static class CacheDamage
{
    public const string Truncated = "truncated";
    public const string Garbage = "garbage";
    public const string OverwrittenInTheMiddle = "64 KiB overwritten in the middle";
    public const string GarbageRecord = "garbage record";
    public const string UnreadableRecord = "unreadable record";

    /// <summary>Damages <paramref name="file"/> (or its record) as <paramref name="damage"/> says.</summary>
    /// <param name="file">The cached file.</param>
    /// <param name="damage">One of this class's constants.</param>
    /// <param name="keepLastWriteTime">Put the file's last write time back afterwards, so that only its content tells.</param>
    public static void Apply(string file, string damage, bool keepLastWriteTime = false)
    {
        var written = File.GetLastWriteTimeUtc(file);
        var length = new FileInfo(file).Length;
        switch (damage)
        {
            case Truncated:
                using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
                {
                    stream.SetLength(length / 2);
                }

                break;
            case Garbage:
                File.WriteAllBytes(file, Random(length, seed: 1));
                break;
            case OverwrittenInTheMiddle:
                Assert.True(length > 2 * 65536, $"{file} is too small to overwrite 64 KiB in its middle");
                using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
                {
                    stream.Position = (length / 2) - 32768;
                    stream.Write(Random(65536, seed: 2));
                }

                Assert.Equal(length, new FileInfo(file).Length);
                break;
            case GarbageRecord:
                File.WriteAllText(file + ".sha256", "this is not a SHA-256 record\n");
                break;
            case UnreadableRecord:
                Unprivileged.MakeUnreadable(file + ".sha256");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(damage), damage, "no such damage");
        }

        if (keepLastWriteTime)
        {
            File.SetLastWriteTimeUtc(file, written);
        }
    }

    private static byte[] Random(long length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
