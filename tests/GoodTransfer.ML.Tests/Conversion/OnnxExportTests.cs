using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Conversion;

/// <summary>What <see cref="OnnxExport"/> reports about the converted checkpoint.</summary>
public sealed class OnnxExportTests
{
    // torchvision's names are checked on the full-size ResNet-50 in PyTorchParityTests (it needs PyTorch);
    // these small shapes are no torchvision model, so they are described.
    [Theory]
    [InlineData("checkpoints/basic_root.pth", "resnet(basic,[1,2,1,1],stem=8,out=[8,16,32,64])")]
    [InlineData("checkpoints/resnext_root.pth", "resnet(bottleneck,[1,1,1,1],stem=8,width=[8,16,32,64],out=[16,32,64,128],groups=4)")]
    public void Architecture_describes_a_shape_that_is_no_torchvision_model(string file, string architecture)
    {
        using var onnx = new TemporaryFile("model.onnx");

        var export = Backbone.FromFile(FixtureManifest.Instance.Checkpoint(file).FullPath).ExportOnnx(onnx.Path);

        Assert.Equal(architecture, export.Architecture);
    }
}
