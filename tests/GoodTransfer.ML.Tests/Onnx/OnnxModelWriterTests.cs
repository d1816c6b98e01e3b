using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;
using Xunit;

namespace GoodTransfer.ML.Tests.Onnx;

public class OnnxModelWriterTests
{
    [Fact]
    public void Written_model_reads_back_and_leaves_no_temporary_file()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("nested/model.onnx");
        var model = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = new GraphProto { Name = "g" } };

        OnnxModelWriter.Write(model, path);

        Assert.Equal(model, ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Successful_write_replaces_an_existing_file()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");
        File.WriteAllText(path, "old");

        OnnxModelWriter.WriteAtomically(path, stream => stream.Write("new"u8));

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

        var error = Assert.Throws<IOException>(() => OnnxModelWriter.WriteAtomically(path, stream =>
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
}
