using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Onnx;

namespace GoodTransfer.ML.Tests.Onnx;

public class ResNetArchitectureTests
{
    public static TheoryData<string> TorchvisionNames =>
    [
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
        "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
    ];

    [Theory]
    [MemberData(nameof(TorchvisionNames))]
    public void Infer_names_every_torchvision_model(string name)
    {
        var expected = SyntheticResNet.Torchvision(name);

        var inferred = ResNetArchitecture.Infer(SyntheticResNet.Create(expected, withValues: false));

        Assert.Equal(name, inferred.Name);
        Assert.Equal(expected, inferred);
    }

    [Fact]
    public void Torchvision_models_have_torchvision_shapes()
    {
        // Figures from torchvision/models/resnet.py: block counts, and the width of the 3x3 convolutions
        // int(planes * width_per_group / 64) * groups for planes 64..512.
        var resnet50 = SyntheticResNet.Torchvision("resnet50");
        Assert.Equal(ResNetBlockKind.Bottleneck, resnet50.BlockKind);
        Assert.Equal([3, 4, 6, 3], resnet50.BlocksPerStage);
        Assert.Equal([64, 128, 256, 512], resnet50.StageWidths);
        Assert.Equal([256, 512, 1024, 2048], resnet50.StageOutputChannels);
        Assert.Equal([3, 8, 36, 3], SyntheticResNet.Torchvision("resnet152").BlocksPerStage);
        Assert.Equal([128, 256, 512, 1024], SyntheticResNet.Torchvision("resnext50_32x4d").StageWidths);
        Assert.Equal(32, SyntheticResNet.Torchvision("resnext50_32x4d").Groups);
        Assert.Equal([256, 512, 1024, 2048], SyntheticResNet.Torchvision("resnext101_32x8d").StageWidths);
        Assert.Equal([256, 512, 1024, 2048], SyntheticResNet.Torchvision("resnext101_64x4d").StageWidths);
        Assert.Equal(64, SyntheticResNet.Torchvision("resnext101_64x4d").Groups);
        Assert.Equal([128, 256, 512, 1024], SyntheticResNet.Torchvision("wide_resnet101_2").StageWidths);
        Assert.Equal(1, SyntheticResNet.Torchvision("wide_resnet101_2").Groups);
        Assert.Equal([64, 128, 256, 512], SyntheticResNet.Torchvision("resnet34").StageOutputChannels);
        Assert.Equal(2048, resnet50.FeatureSize(FeatureLayer.Layer4));
        Assert.Equal(256 + 512 + 1024 + 2048, resnet50.FeatureSize(FeatureLayer.AllLayers));
        Assert.Equal(128, SyntheticResNet.Torchvision("resnet18").FeatureSize(FeatureLayer.Layer2));
    }

    [Fact]
    public void Infer_reads_full_size_resnet50_with_values()
    {
        var inferred = ResNetArchitecture.Infer(SyntheticResNet.Create(SyntheticResNet.Torchvision("resnet50")));

        Assert.Equal("resnet50", inferred.Name);
        Assert.Equal(2048, inferred.FeatureSize(FeatureLayer.Layer4));
    }

    [Fact]
    public void Infer_describes_custom_bottleneck_with_groups()
    {
        var inferred = ResNetArchitecture.Infer(SyntheticResNet.Create(SyntheticResNet.TinyBottleneck));

        Assert.Equal("resnet(bottleneck,[2,1,1,1],stem=8,width=[8,16,32,64],out=[32,64,128,256],groups=4)", inferred.Name);
        Assert.Equal(4, inferred.Groups);
        Assert.Equal([8, 16, 32, 64], inferred.StageWidths);
        Assert.Equal([32, 64, 128, 256], inferred.StageOutputChannels);
    }

    [Fact]
    public void Infer_describes_custom_basic_widths()
    {
        var inferred = ResNetArchitecture.Infer(SyntheticResNet.Create(SyntheticResNet.TinyBasic));

        Assert.Equal("resnet(basic,[2,1,1,1],stem=8,out=[8,16,24,32])", inferred.Name);
        Assert.Equal(SyntheticResNet.TinyBasic, inferred);
    }

    [Fact]
    public void Layer1_block0_has_a_projection_exactly_when_the_widths_differ()
    {
        Assert.Null(SyntheticResNet.TinyBasic.Blocks[0].Downsample);
        Assert.Null(SyntheticResNet.Torchvision("resnet18").Blocks[0].Downsample);

        var projected = ResNetArchitecture.Infer(SyntheticResNet.Create(SyntheticResNet.TinyBasicWideLayer1));
        var downsample = projected.Blocks[0].Downsample;
        Assert.NotNull(downsample);
        Assert.Equal(1, downsample.Stride);
        Assert.Equal([16, 8, 1, 1], downsample.GetWeightShape());

        var resnet50 = SyntheticResNet.Torchvision("resnet50");
        Assert.Equal([256, 64, 1, 1], resnet50.Blocks[0].Downsample!.GetWeightShape());
        Assert.All(resnet50.Blocks.Where(b => !b.Name.EndsWith(".0", StringComparison.Ordinal)), b => Assert.Null(b.Downsample));
    }

    [Fact]
    public void Bottleneck_strides_on_the_3x3_convolution_as_in_resnet_v1_5()
    {
        var layer2 = SyntheticResNet.Torchvision("resnext50_32x4d").Blocks.Single(b => b.Name == "layer2.0");

        Assert.Equal([1, 2, 1], layer2.MainPath.Select(c => c.Stride));
        Assert.Equal([1, 32, 1], layer2.MainPath.Select(c => c.Groups));
        Assert.Equal(2, layer2.Downsample!.Stride);
        Assert.Equal([256, 8, 3, 3], layer2.MainPath[1].GetWeightShape());
    }

    [Fact]
    public void Missing_key_is_named()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.Torchvision("resnet18"), withValues: false);
        tensors.RemoveAll(t => t.Name == "layer2.1.bn2.running_var");

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Equal(["layer2.1.bn2.running_var"], error.MissingKeys);
        Assert.Empty(error.MismatchedKeys);
        Assert.Empty(error.UnexpectedKeys);
        Assert.Equal(SyntheticResNet.SourcePath, error.FilePath);
        Assert.Contains(SyntheticResNet.SourcePath, error.Message, StringComparison.Ordinal);
        Assert.Contains("1 missing key: layer2.1.bn2.running_var", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_stem_weight_is_named_and_nothing_else()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.Torchvision("resnet50"), withValues: false);
        tensors.RemoveAll(t => t.Name == "conv1.weight");

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Equal(["conv1.weight"], error.MissingKeys);
        Assert.Empty(error.MismatchedKeys);
    }

    [Fact]
    public void Wrong_shape_is_named_with_expected_and_actual()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.Torchvision("resnext50_32x4d"), withValues: false);
        var index = tensors.FindIndex(t => t.Name == "layer3.2.conv2.weight");
        tensors[index] = new Tensor("layer3.2.conv2.weight", [512, 32, 3, 3], []);

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Equal(["layer3.2.conv2.weight"], error.MismatchedKeys);
        Assert.Contains("layer3.2.conv2.weight expected [512, 16, 3, 3], got [512, 32, 3, 3]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_rank_is_a_wrong_shape()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.TinyBasic, withValues: false);
        var index = tensors.FindIndex(t => t.Name == "layer1.1.bn1.weight");
        tensors[index] = new Tensor("layer1.1.bn1.weight", [8, 1], []);

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Equal(["layer1.1.bn1.weight"], error.MismatchedKeys);
        Assert.Contains("expected [8], got [8, 1]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unexpected_key_is_named()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.TinyBottleneck, withValues: false);
        tensors.Add(new Tensor("fc.weight", [1000, 256], []));

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Equal(["fc.weight"], error.UnexpectedKeys);
        Assert.Empty(error.MissingKeys);
        Assert.Contains("1 unexpected key: fc.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Convolution_bias_is_unexpected()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.Torchvision("resnet18"), withValues: false);
        tensors.Add(new Tensor("layer1.0.conv1.bias", [64], []));
        tensors.Add(new Tensor("conv1.bias", [64], []));

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Equal(["layer1.0.conv1.bias", "conv1.bias"], error.UnexpectedKeys);
    }

    [Fact]
    public void Projection_where_torchvision_has_none_is_unexpected()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.Torchvision("resnet18"), withValues: false);
        tensors.Add(new Tensor("layer3.1.downsample.0.weight", [256, 256, 1, 1], []));

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Equal(["layer3.1.downsample.0.weight"], error.UnexpectedKeys);
    }

    [Fact]
    public void Gap_in_block_numbering_names_the_missing_block()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.Torchvision("resnet50"), withValues: false);
        tensors.RemoveAll(t => t.Name.StartsWith("layer2.1.", StringComparison.Ordinal));

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Contains("layer2 skips block 1", error.Message, StringComparison.Ordinal);
        Assert.Equal(15, error.MissingKeys.Count);
        Assert.All(error.MissingKeys, key => Assert.StartsWith("layer2.1.", key, StringComparison.Ordinal));
        Assert.Contains("15 missing keys: layer2.1.conv1.weight, ", error.Message, StringComparison.Ordinal);
        Assert.Contains(", and 5 more", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_stage_is_reported()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.TinyBasic, withValues: false);
        tensors.RemoveAll(t => t.Name.StartsWith("layer4.", StringComparison.Ordinal));

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Contains("layer4 has no blocks", error.Message, StringComparison.Ordinal);
        Assert.Contains("layer4.0.conv1.weight", error.MissingKeys);
        Assert.Contains("layer4.0.downsample.0.weight", error.MissingKeys);
    }

    [Fact]
    public void Absurd_block_index_is_unexpected_rather_than_laid_out()
    {
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.TinyBasic, withValues: false);
        tensors.Add(new Tensor("layer1.2000000000.conv1.weight", [8, 8, 3, 3], []));
        tensors.Add(new Tensor("layer1.01.conv1.weight", [8, 8, 3, 3], []));

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Equal(["layer1.2000000000.conv1.weight", "layer1.01.conv1.weight"], error.UnexpectedKeys);
        Assert.Empty(error.MissingKeys);
    }

    [Fact]
    public void State_dict_of_another_network_is_refused_by_name()
    {
        var tensors = new List<Tensor>
        {
            new("patch_embed.proj.weight", [768, 3, 16, 16], []),
            new("blocks.0.attn.qkv.weight", [2304, 768], []),
        };

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Equal(["patch_embed.proj.weight", "blocks.0.attn.qkv.weight"], error.UnexpectedKeys);
        Assert.Contains("conv1.weight", error.MissingKeys);
        Assert.Contains("layer1 has no blocks", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mismatched_groups_are_a_wrong_shape()
    {
        // conv2 of layer1.0 with 48 input channels per group: 128 / 48 is no whole number of groups.
        var tensors = SyntheticResNet.Tensors(SyntheticResNet.Torchvision("wide_resnet50_2"), withValues: false);
        var index = tensors.FindIndex(t => t.Name == "layer1.0.conv2.weight");
        tensors[index] = new Tensor("layer1.0.conv2.weight", [128, 48, 3, 3], []);

        var error = Assert.Throws<CheckpointMismatchException>(() => ResNetArchitecture.Infer(SyntheticResNet.FromTensors(tensors)));

        Assert.Equal(["layer1.0.conv2.weight"], error.MismatchedKeys);
    }

    [Fact]
    public void Constructor_refuses_basic_blocks_with_groups()
    {
        Assert.Throws<ArgumentException>(() => new ResNetArchitecture(ResNetBlockKind.Basic, [1, 1, 1, 1], 8, [8, 8, 8, 8], [8, 8, 8, 8], 2));
        Assert.Throws<ArgumentException>(() => new ResNetArchitecture(ResNetBlockKind.Bottleneck, [1, 1, 1], 8, [8, 8, 8], [8, 8, 8], 1));
    }
}
