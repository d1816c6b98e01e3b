using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;

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
}
