using System.IO.Compression;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// Fashion-MNIST from Debian's dataset-fashion-mnist package (scripts/test.sh installs it): 28x28 grayscale
/// images and their labels, read from the IDX files. Fails loudly, never skips, when the package is missing.
/// </summary>
public static class FashionMnist
{
    public const string Folder = "/usr/share/datasets/fashion-mnist";
    public const int Side = 28;

    /// <summary>The first <paramref name="count"/> images ("train" or "t10k") as 784 gray bytes each, and their labels.</summary>
    public static (byte[][] Pixels, uint[] Labels) Load(string split, int count)
    {
        Assert.True(Directory.Exists(Folder), $"{Folder} is missing: apt-get install dataset-fashion-mnist");
        var pixels = ReadIdx(Path.Combine(Folder, $"{split}-images-idx3-ubyte.gz"), 16);
        var labels = ReadIdx(Path.Combine(Folder, $"{split}-labels-idx1-ubyte.gz"), 8);
        return (
            [.. Enumerable.Range(0, count).Select(i => pixels.AsSpan(i * Side * Side, Side * Side).ToArray())],
            [.. labels.Take(count).Select(l => (uint)l)]);
    }

    private static byte[] ReadIdx(string path, int headerBytes)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        return memory.ToArray()[headerBytes..];
    }
}
