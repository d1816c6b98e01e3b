using GoodTransfer.ML.IO;
using GoodTransfer.ML.Tests.Onnx;

namespace GoodTransfer.ML.Tests.IO;

public class AtomicFileTests
{
    [Fact]
    public void Successful_write_replaces_an_existing_file()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");
        File.WriteAllText(path, "old");

        AtomicFile.Write(path, stream => stream.Write("new"u8));

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Failed_write_keeps_the_existing_file_and_deletes_the_temporary_one()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");
        File.WriteAllText(path, "good");
        string? temporary = null;

        var error = Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            temporary = ((FileStream)stream).Name;
            stream.Write(new byte[3 << 20]);
            throw new IOException("disk full");
        }));

        Assert.Equal("disk full", error.Message);
        Assert.Equal("good", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(folder.Path));
        Assert.NotNull(temporary);
        Assert.Equal(folder.Path, Path.GetDirectoryName(temporary));
        Assert.StartsWith("model.onnx.", Path.GetFileName(temporary), StringComparison.Ordinal);
        Assert.EndsWith(".tmp", temporary, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_is_written_as_utf8_without_a_byte_order_mark()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("record.sha256");

        AtomicFile.WriteText(path, "caf\u00e9\n");

        Assert.Equal("caf\u00e9\n"u8.ToArray(), File.ReadAllBytes(path));
    }
}
