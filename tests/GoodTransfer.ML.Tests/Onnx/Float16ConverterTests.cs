using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;
using GoodTransfer.ML.Tests.Onnx.Quantization;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Onnx;

/// <summary>
/// The float16 featurizer: a valid ONNX model whose network is float16 between float32 ends, with
/// features within float16's rounding of the float32 ones. ONNX Runtime's CPU provider runs it here
/// (inserting its own casts); on a GPU the CUDA provider runs the same graph in float16.
/// </summary>
public sealed class Float16ConverterTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double MinCosine = 0.9999;

    [Theory]
    [InlineData("bottleneck_root.pth", FeatureLayer.Layer4)]
    [InlineData("bottleneck_moco_v2.pth", FeatureLayer.AllLayers)]
    [InlineData("basic_root.pth", FeatureLayer.Layer2)]
    [InlineData("resnext_root.pth", FeatureLayer.Layer4)]
    [InlineData("wide_root.pth", FeatureLayer.Layer4)]
    public void Float16_features_stay_within_cosine_0_9999_of_float32(string file, FeatureLayer layer)
    {
        var checkpoint = FixtureManifest.Instance.Checkpoint(file).FullPath;
        using var folder = new TemporaryFolder();
        var images = QuantizationFixtures.HeldOutBatch();
        var batch = QuantizationFixtures.HeldOutFiles.Count;

        Backbone.FromFile(checkpoint).ExportOnnx(folder.File("fp32.onnx"), new GoodTransferOptions { FeatureLayer = layer });
        Backbone.FromFile(checkpoint).ExportOnnx(folder.File("fp16.onnx"), new GoodTransferOptions { FeatureLayer = layer, Precision = Precision.Float16 });
        var fp32 = QuantizationFixtures.Features(folder.File("fp32.onnx"), images, batch);
        var fp16 = QuantizationFixtures.Features(folder.File("fp16.onnx"), images, batch);

        var cosine = QuantizationFixtures.WorstCosine(fp16, fp32, batch);
        output.WriteLine($"{file} {layer}: worst cosine float16 vs float32 {cosine:F7}");
        Assert.All(fp16, f => Assert.True(float.IsFinite(f)));
        Assert.True(cosine >= MinCosine, $"{file}: cosine {cosine:F7} < {MinCosine}");
        Assert.NotEqual(fp32, fp16);
    }

    [Fact]
    public void Full_size_resnet50_in_float16_keeps_its_features()
    {
        var architecture = SyntheticResNet.Torchvision("resnet50");
        var fp32 = ResNetGraphBuilder.Build(architecture, BatchNormFolding.FoldAll(architecture, SyntheticResNet.Create(architecture, seed: 16)), FeatureLayer.Layer4, ImagePreprocessing.ImageNet, new Dictionary<string, string>());
        var fp16 = Float16Converter.Convert(fp32);

        var cosine = QuantizationFixtures.WorstHeldOutCosine(fp16, fp32);

        var sizeRatio = (double)fp16.CalculateSize() / fp32.CalculateSize();
        output.WriteLine($"ResNet-50: worst cosine float16 vs float32 {cosine:F7}; file size ratio {sizeRatio:F3}");
        Assert.True(cosine >= MinCosine, $"cosine {cosine:F7} < {MinCosine}");
        Assert.InRange(sizeRatio, 0.49, 0.51);
    }

    [Fact]
    public void Float16_model_has_float32_ends_a_float16_network_and_passes_onnx_checker()
    {
        var fixture = FixtureManifest.Instance.Checkpoint("bottleneck_root.pth");
        using var folder = new TemporaryFolder();
        var path = folder.File("fp16.onnx");
        var export = Backbone.FromFile(fixture.FullPath).ExportOnnx(path, new GoodTransferOptions { Precision = Precision.Float16 });
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        const int float32 = (int)TensorProto.Types.DataType.Float, float16 = (int)TensorProto.Types.DataType.Float16;

        Assert.Equal(float32, Assert.Single(model.Graph.Input).Type.TensorType.ElemType);
        Assert.Equal(float32, Assert.Single(model.Graph.Output).Type.TensorType.ElemType);
        Assert.Equal(export.FeatureSize, model.Graph.Output[0].Type.TensorType.Shape.Dim[1].DimValue);
        var convolutionWeights = model.Graph.Node.Where(n => n.OpType == "Conv").SelectMany(n => n.Input.Skip(1)).ToHashSet();
        Assert.All(model.Graph.Initializer.Where(i => convolutionWeights.Contains(i.Name)), i => Assert.Equal(float16, i.DataType));
        Assert.All(model.Graph.Initializer.Where(i => i.Name.StartsWith("normalize.", StringComparison.Ordinal)), i => Assert.Equal(float32, i.DataType));
        Assert.Equal(2, model.Graph.Node.Count(n => n.OpType == "Cast"));
        OnnxChecker.AssertValid(path);
        Assert.Equal("float16", OnnxChecker.Metadata(path)[OnnxMetadataKeys.Precision]);
    }

    [Fact]
    public void A_weight_beyond_float16s_range_is_refused_by_name()
    {
        var architecture = SyntheticResNet.Torchvision("resnet18");
        var folded = BatchNormFolding.FoldAll(architecture, SyntheticResNet.Create(architecture, seed: 1));
        folded["layer2.0.conv1"].Weight[3] = 70000f;
        var fp32 = ResNetGraphBuilder.Build(architecture, folded, FeatureLayer.Layer4, ImagePreprocessing.ImageNet, new Dictionary<string, string>());

        var error = Assert.Throws<ArgumentException>(() => Float16Converter.Convert(fp32));

        Assert.Contains("layer2.0.conv1.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("Float32", error.Message, StringComparison.Ordinal);
    }
}
