using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace GoodTransfer.ML.Tests.Onnx;

public class ResNetGraphBuilderTests
{
    private static readonly Dictionary<string, string> CallerMetadata = new(StringComparer.Ordinal)
    {
        ["goodtransfer.backbone"] = "synthetic",
        ["goodtransfer.checkpoint_sha256"] = "00ff",
    };

    public static TheoryData<FeatureLayer, int> LayersAndBatches()
    {
        var data = new TheoryData<FeatureLayer, int>();
        foreach (var layer in Enum.GetValues<FeatureLayer>())
        {
            data.Add(layer, 1);
            data.Add(layer, 3);
        }

        return data;
    }

    [Fact]
    public void Model_follows_the_contract()
    {
        var model = Build(SyntheticResNet.TinyBottleneck, FeatureLayer.Layer4);

        Assert.Equal(8, model.IrVersion);
        var opset = Assert.Single(model.OpsetImport);
        Assert.Equal(string.Empty, opset.Domain);
        Assert.Equal(17, opset.Version);
        Assert.Equal("GoodTransfer.ML", model.ProducerName);
        Assert.False(string.IsNullOrEmpty(model.ProducerVersion));

        var input = Assert.Single(model.Graph.Input);
        Assert.Equal("image", input.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, input.Type.TensorType.ElemType);
        Assert.Equal("N", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal([3L, 224L, 224L], input.Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue));
        var output = Assert.Single(model.Graph.Output);
        Assert.Equal("features", output.Name);
        Assert.Equal("N", output.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(256, output.Type.TensorType.Shape.Dim[1].DimValue);

        // Normalisation first, as torchvision's Normalize: Sub the mean, then Div by the std.
        Assert.Equal(["Sub", "Div", "Conv", "Relu", "MaxPool"], model.Graph.Node.Take(5).Select(n => n.OpType));
        Assert.Equal(["image", "normalize.mean"], model.Graph.Node[0].Input);
        var mean = model.Graph.Initializer.Single(t => t.Name == "normalize.mean");
        Assert.Equal([1L, 3L, 1L, 1L], mean.Dims);
        Assert.Equal([0.485f, 0.456f, 0.406f], FloatsOf(mean));
        Assert.Equal([0.229f, 0.224f, 0.225f], FloatsOf(model.Graph.Initializer.Single(t => t.Name == "normalize.std")));
        Assert.Equal(["GlobalAveragePool", "Flatten"], model.Graph.Node.TakeLast(2).Select(n => n.OpType));
        Assert.Equal("features", model.Graph.Node[^1].Output.Single());
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType is not ("Sub" or "Div" or "Conv" or "Relu" or "MaxPool" or "Add" or "GlobalAveragePool" or "Flatten"));

        var conv2 = model.Graph.Node.Single(n => n.Name == "layer2.0.conv2");
        Assert.Equal(["layer2.0.relu1", "layer2.0.conv2.weight", "layer2.0.conv2.bias"], conv2.Input);
        Assert.Equal([3L, 3L], Attribute(conv2, "kernel_shape").Ints);
        Assert.Equal([2L, 2L], Attribute(conv2, "strides").Ints);
        Assert.Equal([1L, 1L, 1L, 1L], Attribute(conv2, "pads").Ints);
        Assert.Equal([1L, 1L], Attribute(conv2, "dilations").Ints);
        Assert.Equal(4, Attribute(conv2, "group").I);
        Assert.Equal([16L, 4L, 3L, 3L], model.Graph.Initializer.Single(t => t.Name == "layer2.0.conv2.weight").Dims);
        var add = model.Graph.Node.Single(n => n.Name == "layer2.0.add");
        Assert.Equal(["layer2.0.conv3", "layer2.0.downsample.0"], add.Input);
        var blockOutput = model.Graph.Node.Single(n => n.Name == "layer2.0.relu");
        Assert.Equal(["layer2.0.add"], blockOutput.Input);
        Assert.Equal(["layer2.0"], blockOutput.Output);
        Assert.Equal(["layer2.0", "layer2.0"], model.Graph.Node.Where(n => n.Name is "layer3.0.conv1" or "layer3.0.downsample.0").Select(n => n.Input[0]));
        Assert.All(model.Graph.Initializer, t => Assert.Empty(t.FloatData));

        var metadata = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("synthetic", metadata["goodtransfer.backbone"]);
        Assert.Equal("00ff", metadata["goodtransfer.checkpoint_sha256"]);
        Assert.Equal(SyntheticResNet.TinyBottleneck.Name, metadata["goodtransfer.architecture"]);
        Assert.Equal("Layer4", metadata["goodtransfer.feature_layer"]);
        Assert.Equal("256", metadata["goodtransfer.feature_size"]);
        Assert.Equal(ResNetGraphBuilder.ConverterVersion, metadata["goodtransfer.converter_version"]);
        Assert.Equal("256", metadata["goodtransfer.resize_size"]);
        Assert.Equal("224", metadata["goodtransfer.crop_size"]);
        Assert.Equal("0.485,0.456,0.406", metadata["goodtransfer.mean"]);
        Assert.Equal("0.229,0.224,0.225", metadata["goodtransfer.std"]);
    }

    [Fact]
    public void The_preprocessing_sets_the_input_size_the_normalisation_and_the_metadata()
    {
        var preprocessing = new ImagePreprocessing(160, 128, [0.5f, 0.25f, 0.125f], [0.25f, 0.5f, 1f / 3]);

        var model = Build(SyntheticResNet.TinyBottleneck, FeatureLayer.Layer4, preprocessing);

        var input = Assert.Single(model.Graph.Input);
        Assert.Equal("N", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal([3L, 128L, 128L], input.Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue));
        Assert.Equal([0.5f, 0.25f, 0.125f], FloatsOf(model.Graph.Initializer.Single(t => t.Name == "normalize.mean")));
        Assert.Equal([0.25f, 0.5f, 1f / 3], FloatsOf(model.Graph.Initializer.Single(t => t.Name == "normalize.std")));
        var metadata = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("160", metadata["goodtransfer.resize_size"]);
        Assert.Equal("128", metadata["goodtransfer.crop_size"]);
        Assert.Equal("0.5,0.25,0.125", metadata["goodtransfer.mean"]);
        Assert.Equal("0.25,0.5,0.33333334", metadata["goodtransfer.std"]);
        Assert.Equal(1f / 3, float.Parse(metadata["goodtransfer.std"].Split(',')[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void ONNX_Runtime_runs_a_graph_for_a_smaller_crop()
    {
        var architecture = SyntheticResNet.TinyBasic;
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");
        OnnxModelWriter.Write(Build(architecture, FeatureLayer.Layer4, new ImagePreprocessing(160, 128, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f])), path);

        using (var session = new InferenceSession(path))
        {
            Assert.Equal([-1, 3, 128, 128], session.InputMetadata["image"].Dimensions);
            Assert.Equal("128", session.ModelMetadata.CustomMetadataMap["goodtransfer.crop_size"]);
        }

        var (values, shape) = OnnxFeaturizer.Run(path, SyntheticResNet.Images(2, seed: 3, size: 128), 2, size: 128);
        Assert.Equal([2, architecture.FeatureSize(FeatureLayer.Layer4)], shape);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void ONNX_Runtime_reads_the_contract()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");
        OnnxModelWriter.Write(Build(SyntheticResNet.TinyBasic, FeatureLayer.AllLayers), path);

        using var session = new InferenceSession(path);

        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("image", input.Key);
        Assert.Equal(TensorElementType.Float, input.Value.ElementDataType);
        Assert.Equal([-1, 3, 224, 224], input.Value.Dimensions);
        Assert.Equal("N", input.Value.SymbolicDimensions[0]);
        var output = Assert.Single(session.OutputMetadata);
        Assert.Equal("features", output.Key);
        Assert.Equal([-1, 8 + 16 + 24 + 32], output.Value.Dimensions);
        Assert.Equal("GoodTransfer.ML", session.ModelMetadata.ProducerName);
        Assert.Equal("AllLayers", session.ModelMetadata.CustomMetadataMap["goodtransfer.feature_layer"]);
        Assert.Equal("synthetic", session.ModelMetadata.CustomMetadataMap["goodtransfer.backbone"]);
    }

    [Theory]
    [MemberData(nameof(LayersAndBatches))]
    public void Model_outputs_batch_by_feature_size(FeatureLayer layer, int batch)
    {
        var architecture = SyntheticResNet.TinyBottleneck;
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");
        OnnxModelWriter.Write(Build(architecture, layer), path);

        var (values, shape) = OnnxFeaturizer.Run(path, SyntheticResNet.Images(batch, seed: 7), batch);

        Assert.Equal([batch, architecture.FeatureSize(layer)], shape);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Each_image_of_a_batch_gets_its_own_features()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");
        OnnxModelWriter.Write(Build(SyntheticResNet.TinyBasic, FeatureLayer.Layer4), path);
        var images = SyntheticResNet.Images(3, seed: 11);

        var (batched, _) = OnnxFeaturizer.Run(path, images, 3);
        var (single, _) = OnnxFeaturizer.Run(path, images[(2 * 3 * 224 * 224)..], 1);

        Assert.Equal(single, batched[(2 * 32)..], (a, b) => Math.Abs(a - b) <= 1e-5f * Math.Max(1, Math.Abs(a)));
        Assert.NotEqual(batched[..32], batched[32..64]);
    }

    [Theory]
    [InlineData(FeatureLayer.Layer1, "layer1.1")]
    [InlineData(FeatureLayer.Layer3, "layer3.0")]
    public void Graph_stops_at_the_requested_stage(FeatureLayer layer, string lastBlock)
    {
        var model = Build(SyntheticResNet.TinyBottleneck, layer);

        var lastStage = lastBlock[5] - '0';
        var later = Enumerable.Range(lastStage + 1, 4 - lastStage).Select(s => $"layer{s}.").ToList();
        Assert.DoesNotContain(model.Graph.Node, n => later.Any(prefix => n.Name.StartsWith(prefix, StringComparison.Ordinal)));
        Assert.DoesNotContain(model.Graph.Initializer, t => later.Any(prefix => t.Name.StartsWith(prefix, StringComparison.Ordinal)));
        Assert.Equal([lastBlock], model.Graph.Node.Single(n => n.OpType == "GlobalAveragePool").Input);
    }

    [Fact]
    public void All_layers_concatenates_the_four_pooled_stages_in_order()
    {
        var model = Build(SyntheticResNet.TinyBottleneck, FeatureLayer.AllLayers);

        var concat = model.Graph.Node[^1];
        Assert.Equal("Concat", concat.OpType);
        Assert.Equal(1, Attribute(concat, "axis").I);
        Assert.Equal(["layer1.features", "layer2.features", "layer3.features", "layer4.features"], concat.Input);
        Assert.Equal(["layer1.1", "layer2.0", "layer3.0", "layer4.0"], model.Graph.Node.Where(n => n.OpType == "GlobalAveragePool").Select(n => n.Input.Single()));
    }

    [Fact]
    public void Initializers_are_views_of_the_folded_weights()
    {
        var stateDict = SyntheticResNet.Create(SyntheticResNet.TinyBasic);
        var architecture = ResNetArchitecture.Infer(stateDict);
        var folded = BatchNormFolding.FoldAll(architecture, stateDict);
        var model = ResNetGraphBuilder.Build(architecture, folded, FeatureLayer.Layer4, ImagePreprocessing.ImageNet, CallerMetadata);
        var weight = model.Graph.Initializer.Single(t => t.Name == "layer3.0.conv2.weight");

        folded["layer3.0.conv2"].Weight[5] = 1234.5f;

        Assert.Equal(1234.5f, BitConverter.ToSingle(weight.RawData.Span[(5 * sizeof(float))..]));
        Assert.Equal(folded["layer3.0.conv2"].Weight.Length * sizeof(float), weight.RawData.Length);
    }

    [Theory]
    [InlineData("goodtransfer.feature_size")]
    [InlineData("goodtransfer.crop_size")]
    [InlineData("goodtransfer.mean")]
    public void Metadata_may_not_override_the_converters_own_keys(string key)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [key] = "1" };
        var stateDict = SyntheticResNet.Create(SyntheticResNet.TinyBasic);
        var architecture = ResNetArchitecture.Infer(stateDict);

        var error = Assert.Throws<ArgumentException>(() => ResNetGraphBuilder.Build(architecture, BatchNormFolding.FoldAll(architecture, stateDict), FeatureLayer.Layer4, ImagePreprocessing.ImageNet, metadata));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private static ModelProto Build(ResNetArchitecture architecture, FeatureLayer layer, ImagePreprocessing? preprocessing = null)
    {
        var stateDict = SyntheticResNet.Create(architecture);
        var inferred = ResNetArchitecture.Infer(stateDict);
        return ResNetGraphBuilder.Build(inferred, BatchNormFolding.FoldAll(inferred, stateDict), layer, preprocessing ?? ImagePreprocessing.ImageNet, CallerMetadata);
    }

    private static AttributeProto Attribute(NodeProto node, string name) => node.Attribute.Single(a => a.Name == name);

    private static float[] FloatsOf(TensorProto tensor)
    {
        var bytes = tensor.RawData.Span;
        return [.. Enumerable.Range(0, bytes.Length / sizeof(float)).Select(i => BitConverter.ToSingle(tensor.RawData.Span[(i * sizeof(float))..]))];
    }
}
