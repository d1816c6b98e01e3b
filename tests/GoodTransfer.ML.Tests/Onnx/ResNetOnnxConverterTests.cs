using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Onnx;
using Xunit;

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

        var result = ResNetOnnxConverter.Convert(SyntheticResNet.Create(architecture, seed: 3), path, FeatureLayer.AllLayers, Metadata);
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
            ResNetOnnxConverter.Convert(SyntheticResNet.Create(architecture), path, layer, Metadata);
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

        var result = ResNetOnnxConverter.Convert(SyntheticResNet.Create(SyntheticResNet.Torchvision("resnet50")), path, FeatureLayer.Layer4, Metadata);
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

        Assert.Throws<CheckpointMismatchException>(() => ResNetOnnxConverter.Convert(SyntheticResNet.FromTensors(tensors), path, FeatureLayer.Layer4, Metadata));

        Assert.Empty(Directory.GetFiles(folder.Path));
        Assert.Equal(before, weight);
    }
}
