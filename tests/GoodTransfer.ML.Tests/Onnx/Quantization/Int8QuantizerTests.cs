using System.Diagnostics;
using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;
using GoodTransfer.ML.Onnx.Quantization;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Onnx.Quantization;

/// <summary>
/// The int8 featurizer is a valid ONNX model, ONNX Runtime runs every convolution of it as an integer
/// kernel, and its features stay close to the float32 ones on images it was not calibrated on.
/// </summary>
/// <remarks>
/// The committed fixtures and the full-size ResNet-50 have random weights, so their figures say that the
/// arithmetic is right rather than how a trained backbone's features degrade; fashion_resnet.pth (see
/// <see cref="Int8FashionMnistTests"/>) is the one trained backbone.
/// </remarks>
public sealed class Int8QuantizerTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double MinCosine = 0.99;

    public static TheoryData<string> DistinctCheckpoints => ["bottleneck_root.pth", "bottleneck_moco_v2.pth", "basic_root.pth", "resnext_root.pth", "wide_root.pth", "micro_root.pth"];

    [Theory]
    [MemberData(nameof(DistinctCheckpoints))]
    public void Int8_features_stay_within_cosine_0_99_of_float32_on_held_out_images(string file)
    {
        var checkpoint = FixtureManifest.Instance.Checkpoint(file).FullPath;
        using var folder = new TemporaryFolder();
        var images = QuantizationFixtures.HeldOutBatch();
        var batch = QuantizationFixtures.HeldOutFiles.Count;

        Backbone.FromFile(checkpoint).ExportOnnx(folder.File("fp32.onnx"));
        Backbone.FromFile(checkpoint).ExportOnnx(folder.File("int8.onnx"), Int8Options());
        var fp32 = QuantizationFixtures.Features(folder.File("fp32.onnx"), images, batch);
        var int8 = QuantizationFixtures.Features(folder.File("int8.onnx"), images, batch);

        var cosine = QuantizationFixtures.WorstCosine(int8, fp32, batch);
        output.WriteLine($"{file}: worst held-out cosine int8 vs fp32 {cosine:F5}");
        Assert.True(cosine >= MinCosine, $"{file}: cosine {cosine:F5} < {MinCosine}");
    }

    [Fact]
    public void A_trained_backbone_keeps_its_features_within_cosine_0_99_on_held_out_images()
    {
        using var folder = new TemporaryFolder();
        var images = QuantizationFixtures.HeldOutBatch();
        var batch = QuantizationFixtures.HeldOutFiles.Count;
        var backbone = Backbone.FromFile(Int8FashionMnistTests.TrainedCheckpoint);

        backbone.ExportOnnx(folder.File("fp32.onnx"));
        backbone.ExportOnnx(folder.File("int8.onnx"), Int8Options());
        var cosine = QuantizationFixtures.WorstCosine(
            QuantizationFixtures.Features(folder.File("int8.onnx"), images, batch),
            QuantizationFixtures.Features(folder.File("fp32.onnx"), images, batch),
            batch);

        output.WriteLine($"fashion_resnet.pth (trained): worst held-out cosine int8 vs fp32 {cosine:F5}");
        Assert.True(cosine >= MinCosine, $"cosine {cosine:F5} < {MinCosine}");
    }

    [Theory]
    [InlineData("bottleneck_root.pth", FeatureLayer.Layer4)]
    [InlineData("bottleneck_root.pth", FeatureLayer.AllLayers)]
    [InlineData("basic_root.pth", FeatureLayer.Layer2)]
    [InlineData("resnext_root.pth", FeatureLayer.Layer4)]
    public void Onnx_Runtime_runs_every_convolution_as_an_int8_kernel(string file, FeatureLayer layer)
    {
        var checkpoint = FixtureManifest.Instance.Checkpoint(file).FullPath;
        using var folder = new TemporaryFolder();
        var path = folder.File("int8.onnx");
        Backbone.FromFile(checkpoint).ExportOnnx(path, Int8Options(layer));
        var convolutions = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node.Count(n => n.OpType == "Conv");

        var ops = QuantizationFixtures.OptimizedOpTypes(path);

        output.WriteLine(string.Join(", ", ops.GroupBy(o => o).Select(g => $"{g.Key} x{g.Count()}")));
        AssertEveryConvolutionIsInteger(ops, convolutions);
    }

    [Theory]
    [InlineData(FeatureLayer.Layer4)]
    [InlineData(FeatureLayer.AllLayers)]
    public void Int8_model_passes_onnx_checker_and_says_it_is_int8(FeatureLayer layer)
    {
        var fixture = FixtureManifest.Instance.Checkpoint("bottleneck_root.pth");
        using var onnx = new TemporaryFile("int8.onnx");

        var export = Backbone.FromFile(fixture.FullPath).ExportOnnx(onnx.Path, Int8Options(layer));

        OnnxChecker.AssertValid(onnx.Path);
        var metadata = OnnxChecker.Metadata(onnx.Path);
        Assert.Equal("int8", metadata[OnnxMetadataKeys.Precision]);
        Assert.StartsWith($"minmax over {QuantizationFixtures.CalibrationFiles.Count} images", metadata[OnnxMetadataKeys.Calibration], StringComparison.Ordinal);
        Assert.Equal(export.CheckpointSha256, metadata["goodtransfer.checkpoint_sha256"]);
    }

    [Fact]
    public void Int8_model_keeps_the_float32_input_and_output_contract()
    {
        var fixture = FixtureManifest.Instance.Checkpoint("bottleneck_root.pth");
        using var folder = new TemporaryFolder();
        var export = Backbone.FromFile(fixture.FullPath).ExportOnnx(folder.File("int8.onnx"), Int8Options());
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(folder.File("int8.onnx")));

        var input = Assert.Single(model.Graph.Input);
        var output = Assert.Single(model.Graph.Output);
        Assert.Equal((ResNetGraphBuilder.InputName, (int)TensorProto.Types.DataType.Float), (input.Name, input.Type.TensorType.ElemType));
        Assert.Equal((ResNetGraphBuilder.OutputName, (int)TensorProto.Types.DataType.Float), (output.Name, output.Type.TensorType.ElemType));
        Assert.Equal("N", output.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(export.FeatureSize, output.Type.TensorType.Shape.Dim[1].DimValue);
        var (features, shape) = OnnxFeaturizer.Run(folder.File("int8.onnx"), QuantizationFixtures.HeldOutBatch(), QuantizationFixtures.HeldOutFiles.Count);
        Assert.Equal([QuantizationFixtures.HeldOutFiles.Count, export.FeatureSize], shape);
        Assert.All(features, f => Assert.True(float.IsFinite(f)));
    }

    [Fact]
    public void Full_size_resnet50_quantizes_to_int8_kernels_and_keeps_its_features()
    {
        var clock = Stopwatch.StartNew();
        var architecture = SyntheticResNet.Torchvision("resnet50");
        var fp32 = ResNetGraphBuilder.Build(architecture, BatchNormFolding.FoldAll(architecture, SyntheticResNet.Create(architecture, seed: 50)), FeatureLayer.Layer4, ImagePreprocessing.ImageNet, new Dictionary<string, string>());
        var calibration = CalibrationImages.FromFiles(QuantizationFixtures.CalibrationPaths, ImagePreprocessing.ImageNet);

        var int8 = Int8Quantizer.Quantize(fp32, calibration);
        var quantizeSeconds = clock.Elapsed.TotalSeconds;

        var cosine = QuantizationFixtures.WorstHeldOutCosine(int8, fp32);
        using var folder = new TemporaryFolder();
        OnnxModelWriter.Write(int8, folder.File("int8.onnx"));
        var ops = QuantizationFixtures.OptimizedOpTypes(folder.File("int8.onnx"));

        output.WriteLine($"ResNet-50: quantized in {quantizeSeconds:F1} s, worst held-out cosine {cosine:F5}, whole test {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(cosine >= MinCosine, $"ResNet-50: cosine {cosine:F5} < {MinCosine}");
        AssertEveryConvolutionIsInteger(ops, fp32.Graph.Node.Count(n => n.OpType == "Conv"));
    }

    /// <summary>
    /// No float convolution is left (ONNX Runtime's fp32 forms are Conv, FusedConv and the NCHWc Conv),
    /// and there is one QLinearConv per Conv of the float graph, its Relu folded in. The one float Relu
    /// allowed is the last block's, whose sum feeds only the pooling and is computed in float.
    /// </summary>
    private static void AssertEveryConvolutionIsInteger(List<string> ops, int convolutions)
    {
        Assert.DoesNotContain(ops, op => op.EndsWith("Conv", StringComparison.Ordinal) && !op.EndsWith(":QLinearConv", StringComparison.Ordinal));
        Assert.Equal(convolutions, ops.Count(op => op.EndsWith(":QLinearConv", StringComparison.Ordinal)));
        Assert.True(ops.Count(op => op == ":Relu") <= 1, "A Relu was left unfused: " + string.Join(", ", ops));
    }

    private static GoodTransferOptions Int8Options(FeatureLayer layer = FeatureLayer.Layer4) => new()
    {
        FeatureLayer = layer,
        Precision = Precision.Int8,
        CalibrationImages = QuantizationFixtures.CalibrationPaths,
    };
}
