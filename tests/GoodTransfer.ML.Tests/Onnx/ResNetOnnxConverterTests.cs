using System.Security.Cryptography;
using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;
using GoodTransfer.ML.Tests.Support;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;

namespace GoodTransfer.ML.Tests.Onnx;

public class ResNetOnnxConverterTests
{
    private static readonly Dictionary<string, string> Metadata = new(StringComparer.Ordinal) { ["goodtransfer.backbone"] = "synthetic" };

    public static TheoryData<string> TinyArchitectures => ["TinyBasic", "TinyBasicWideLayer1", "TinyBottleneck"];

    [Theory]
    [MemberData(nameof(TinyArchitectures))]
    public void Features_match_a_naive_forward_pass(string which)
    {
        var architecture = which switch
        {
            "TinyBasic" => SyntheticResNet.TinyBasic,
            "TinyBasicWideLayer1" => SyntheticResNet.TinyBasicWideLayer1,
            _ => SyntheticResNet.TinyBottleneck,
        };
        var reference = SyntheticResNet.Create(architecture, seed: 3);
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");
        const int batch = 2;
        var images = SyntheticResNet.Images(batch, seed: 5);

        var result = ResNetOnnxConverter.Convert(SyntheticResNet.Create(architecture, seed: 3), path, FeatureLayer.AllLayers, ImagePreprocessing.ImageNet, Metadata);
        var (features, shape) = OnnxFeaturizer.Run(path, images, batch);

        Assert.Equal(architecture, result.Architecture);
        Assert.Equal(path, result.OnnxPath);
        Assert.Equal([batch, result.FeatureSize], shape);
        for (var image = 0; image < batch; image++)
        {
            var expected = ReferenceResNet.Features(architecture, reference, images, image, FeatureLayer.AllLayers);
            var actual = features.AsSpan(image * result.FeatureSize, result.FeatureSize);
            Assert.True(OnnxFeaturizer.Cosine(expected, actual) >= 0.99999, $"cosine {OnnxFeaturizer.Cosine(expected, actual)} for image {image}");
            var scale = expected.Max(Math.Abs);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * scale, $"feature {i}: expected {expected[i]}, got {actual[i]}");
            }
        }
    }

    [Fact]
    public void Each_layer_is_its_slice_of_all_layers()
    {
        var architecture = SyntheticResNet.TinyBottleneck;
        using var folder = new TemporaryFolder();
        var images = SyntheticResNet.Images(1, seed: 9);
        float[] Features(FeatureLayer layer)
        {
            var path = folder.File($"{layer}.onnx");
            ResNetOnnxConverter.Convert(SyntheticResNet.Create(architecture), path, layer, ImagePreprocessing.ImageNet, Metadata);
            return OnnxFeaturizer.Run(path, images, 1).Values;
        }

        var all = Features(FeatureLayer.AllLayers);
        var start = 0;
        foreach (var layer in new[] { FeatureLayer.Layer1, FeatureLayer.Layer2, FeatureLayer.Layer3, FeatureLayer.Layer4 })
        {
            var single = Features(layer);
            Assert.Equal(single, all[start..(start + single.Length)], (a, b) => Math.Abs(a - b) <= 1e-5f * Math.Max(1, Math.Abs(a)));
            start += single.Length;
        }

        Assert.Equal(all.Length, start);
    }

    [Fact]
    public void Full_size_resnet50_converts_and_runs()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("resnet50.onnx");

        var result = ResNetOnnxConverter.Convert(SyntheticResNet.Create(SyntheticResNet.Torchvision("resnet50")), path, FeatureLayer.Layer4, ImagePreprocessing.ImageNet, Metadata);
        var (features, shape) = OnnxFeaturizer.Run(path, SyntheticResNet.Images(1, seed: 1), 1);

        Assert.Equal("resnet50", result.Architecture.Name);
        Assert.Equal(2048, result.FeatureSize);
        Assert.Equal([1, 2048], shape);
        Assert.All(features, v => Assert.True(float.IsFinite(v)));

        // Every folded weight and bias once, as 4-byte floats, plus at most 100 kB of graph and metadata.
        var convolutions = result.Architecture.Blocks.SelectMany(b => b.Downsample is null ? b.MainPath : b.MainPath.Append(b.Downsample)).Append(result.Architecture.Stem);
        var parameters = convolutions.Sum(c => (long)c.GetWeightShape().Aggregate(1, (p, d) => p * d) + c.OutChannels);

        // torchvision's resnet50 has 25,557,032 parameters: 2,049,000 in fc, and BatchNorms over 26,560
        // channels whose weight and bias (two per channel) fold into one bias per channel.
        Assert.Equal(25_557_032 - 2_049_000 - 26_560, parameters);
        Assert.InRange(new FileInfo(path).Length, parameters * 4, (parameters * 4) + 100_000);
    }

    [Fact]
    public void Mismatched_state_dict_writes_nothing_and_changes_nothing()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.TinyBasic);
        tensors.Add(new Tensor("fc.weight", [10, 32], new float[320]));
        var weight = tensors.Single(t => t.Name == "conv1.weight").Data;
        var before = weight.ToArray();
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");

        Assert.Throws<CheckpointMismatchException>(() => ResNetOnnxConverter.Convert(SyntheticResNet.FromTensors(tensors), path, FeatureLayer.Layer4, ImagePreprocessing.ImageNet, Metadata));

        Assert.Empty(Directory.GetFiles(folder.Path));
        Assert.Equal(before, weight);
    }

    [Theory]
    [InlineData(Precision.Float32, "b2b23f167f4683ca9772b32b1b1a910928fbef335b92851051f7f12ffd722f21", "acc711fb2daaedab1f247ccb2e94939afb374b1467392c838cce4b7691bcc7ff")]
    [InlineData(Precision.Float16, "7cb5420c6e8d1a3ab1ce3d001f742df0c5ed2ef0502b9336ea2d2f7d6812e776", "5d4d8a0dea4d36921bac4e6ce030dd06306e8301a5582f4e11013cae40782374")]
    public void ImageNet_conversion_writes_the_graph_it_wrote_before_preprocessing_was_a_parameter(Precision precision, string batchedSha256, string singleImageSha256)
    {
        // SHA-256 of the graphs (the model minus its metadata and producer version) that converter version 1
        // wrote for this checkpoint when ImageNet's sizes, mean and std were constants of the converter.
        using var folder = new TemporaryFolder();
        var stateDict = CheckpointReader.Read(FixtureManifest.Instance.Checkpoint("bottleneck_moco_v2.pth").FullPath);

        ResNetOnnxConverter.Convert(stateDict, folder.File("batch.onnx"), FeatureLayer.Layer4, ImagePreprocessing.ImageNet, Metadata, folder.File("single.onnx"), precision == Precision.Float16 ? ConversionPrecision.Float16 : ConversionPrecision.Float32);

        Assert.Equal(batchedSha256, GraphSha256(folder.File("batch.onnx")));
        Assert.Equal(singleImageSha256, GraphSha256(folder.File("single.onnx")));
    }

    [Fact]
    public void ImageNet_conversion_adds_only_the_preprocessing_to_the_metadata()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");

        ResNetOnnxConverter.Convert(SyntheticResNet.Create(SyntheticResNet.TinyBasic), path, FeatureLayer.Layer4, ImagePreprocessing.ImageNet, Metadata);

        var metadata = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).MetadataProps.Select(p => (p.Key, p.Value)).ToList();
        Assert.Equal(
            [
                ("goodtransfer.backbone", "synthetic"),
                ("goodtransfer.architecture", SyntheticResNet.TinyBasic.Name),
                ("goodtransfer.converter_version", ResNetGraphBuilder.ConverterVersion),
                ("goodtransfer.crop_size", "224"),
                ("goodtransfer.feature_layer", "Layer4"),
                ("goodtransfer.feature_size", "32"),
                ("goodtransfer.mean", "0.485,0.456,0.406"),
                ("goodtransfer.resize_size", "256"),
                ("goodtransfer.std", "0.229,0.224,0.225"),
            ],
            metadata);
    }

    [Fact]
    public void Both_forms_take_their_input_size_from_the_preprocessing()
    {
        using var folder = new TemporaryFolder();
        var preprocessing = new ImagePreprocessing(160, 128, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]);

        var result = ResNetOnnxConverter.Convert(SyntheticResNet.Create(SyntheticResNet.TinyBasic), folder.File("batch.onnx"), FeatureLayer.Layer4, preprocessing, Metadata, folder.File("single.onnx"));

        using var batched = new InferenceSession(folder.File("batch.onnx"));
        using var single = new InferenceSession(folder.File("single.onnx"));
        Assert.Equal([-1, 3, 128, 128], batched.InputMetadata[ResNetGraphBuilder.InputName].Dimensions);
        // The one-image form's width is open for a preprocessing other than ImageNet's: a saved model's preprocessing
        // step writes a vector whose length no attribute can state (see SingleImageGraph).
        Assert.Equal([3, 128, -1], single.InputMetadata[SingleImageGraph.InputName].Dimensions);
        Assert.Equal([result.FeatureSize], single.OutputMetadata[SingleImageGraph.OutputName].Dimensions);
        Assert.Equal("160", single.ModelMetadata.CustomMetadataMap[OnnxMetadataKeys.ResizeSize]);
    }

    private static string GraphSha256(string path) =>
        Convert.ToHexStringLower(SHA256.HashData(ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.ToByteArray()));
}
