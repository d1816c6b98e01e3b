using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Onnx;

namespace GoodTransfer.ML.Tests.Onnx;

/// <summary>One residual block as torchvision's <c>_make_layer</c> builds it, laid out independently of the library.</summary>
internal sealed record SyntheticBlock(string Name, int Stage, ResNetBlockKind Kind, int Stride, int InChannels, int Width, int OutChannels, int Groups, bool HasDownsample);

/// <summary>
/// Synthetic torchvision ResNet state dicts: every key and shape torchvision would save, with seeded
/// random weights (He-uniform, so activations neither vanish nor explode) and BatchNorm statistics that
/// are far from the identity. The layout is written here from torchvision's rules, not taken from
/// <see cref="ResNetArchitecture.Blocks"/>, so tests compare two independent readings of those rules.
/// </summary>
internal static class SyntheticResNet
{
    public const string SourcePath = "/checkpoints/synthetic.pth";

    /// <summary>Basic blocks [2,1,1,1], stem 8, no projection on layer1.0 (8 in, 8 out).</summary>
    public static ResNetArchitecture TinyBasic { get; } =
        new(ResNetBlockKind.Basic, [2, 1, 1, 1], 8, [8, 16, 24, 32], [8, 16, 24, 32], 1);

    /// <summary>Basic blocks [1,2,1,1], stem 8 but layer1 16 wide: layer1.0 needs a stride-1 projection.</summary>
    public static ResNetArchitecture TinyBasicWideLayer1 { get; } =
        new(ResNetBlockKind.Basic, [1, 2, 1, 1], 8, [16, 16, 24, 32], [16, 16, 24, 32], 1);

    /// <summary>Bottleneck blocks [2,1,1,1], stem 8, 4 groups.</summary>
    public static ResNetArchitecture TinyBottleneck { get; } =
        new(ResNetBlockKind.Bottleneck, [2, 1, 1, 1], 8, [8, 16, 32, 64], [32, 64, 128, 256], 4);

    public static ResNetArchitecture Torchvision(string name) =>
        ResNetArchitecture.TorchvisionModels.Single(model => model.Name == name);

    /// <summary>The blocks in order, from the architecture's numbers and torchvision's rules.</summary>
    public static IReadOnlyList<SyntheticBlock> Layout(ResNetArchitecture architecture)
    {
        var blocks = new List<SyntheticBlock>();
        var inChannels = architecture.StemWidth;
        for (var stage = 0; stage < 4; stage++)
        {
            var output = architecture.StageOutputChannels[stage];
            for (var index = 0; index < architecture.BlocksPerStage[stage]; index++)
            {
                var stride = stage > 0 && index == 0 ? 2 : 1;
                blocks.Add(new SyntheticBlock(
                    $"layer{stage + 1}.{index}",
                    stage + 1,
                    architecture.BlockKind,
                    stride,
                    inChannels,
                    architecture.StageWidths[stage],
                    output,
                    architecture.Groups,
                    stride != 1 || inChannels != output));
                inChannels = output;
            }
        }

        return blocks;
    }

    /// <summary>The state dict's tensors in torchvision's order.</summary>
    /// <param name="architecture">The shape to generate.</param>
    /// <param name="seed">Same seed, same values.</param>
    /// <param name="withValues">False to give every tensor an empty array (for tests that only look at shapes).</param>
    public static List<Tensor> Tensors(ResNetArchitecture architecture, int seed = 1, bool withValues = true)
    {
        var random = new Random(seed);
        var tensors = new List<Tensor>();

        void Convolution(string name, int output, int inputPerGroup, int kernel)
        {
            int[] shape = [output, inputPerGroup, kernel, kernel];
            var bound = Math.Sqrt(6.0 / (inputPerGroup * kernel * kernel));
            tensors.Add(new Tensor(name + ".weight", shape, Values(output * inputPerGroup * kernel * kernel, -bound, bound)));
        }

        void BatchNorm(string name, int channels)
        {
            tensors.Add(new Tensor(name + ".weight", [channels], Values(channels, 0.5, 1.5)));
            tensors.Add(new Tensor(name + ".bias", [channels], Values(channels, -0.2, 0.2)));
            tensors.Add(new Tensor(name + ".running_mean", [channels], Values(channels, -0.2, 0.2)));
            tensors.Add(new Tensor(name + ".running_var", [channels], Values(channels, 0.5, 2.0)));
        }

        float[] Values(int count, double low, double high)
        {
            if (!withValues)
            {
                return [];
            }

            var values = new float[count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)(low + ((high - low) * random.NextDouble()));
            }

            return values;
        }

        Convolution("conv1", architecture.StemWidth, 3, 7);
        BatchNorm("bn1", architecture.StemWidth);
        foreach (var block in Layout(architecture))
        {
            var name = block.Name;
            if (block.Kind == ResNetBlockKind.Basic)
            {
                Convolution($"{name}.conv1", block.OutChannels, block.InChannels, 3);
                BatchNorm($"{name}.bn1", block.OutChannels);
                Convolution($"{name}.conv2", block.OutChannels, block.OutChannels, 3);
                BatchNorm($"{name}.bn2", block.OutChannels);
            }
            else
            {
                Convolution($"{name}.conv1", block.Width, block.InChannels, 1);
                BatchNorm($"{name}.bn1", block.Width);
                Convolution($"{name}.conv2", block.Width, block.Width / block.Groups, 3);
                BatchNorm($"{name}.bn2", block.Width);
                Convolution($"{name}.conv3", block.OutChannels, block.Width, 1);
                BatchNorm($"{name}.bn3", block.OutChannels);
            }

            if (block.HasDownsample)
            {
                Convolution($"{name}.downsample.0", block.OutChannels, block.InChannels, 1);
                BatchNorm($"{name}.downsample.1", block.OutChannels);
            }
        }

        return tensors;
    }

    public static StateDict Create(ResNetArchitecture architecture, int seed = 1, bool withValues = true) =>
        FromTensors(Tensors(architecture, seed, withValues));

    public static StateDict FromTensors(IEnumerable<Tensor> tensors) =>
        new(SourcePath, CheckpointContainer.Zip, "synthetic", [.. tensors], []);

    /// <summary>A seeded batch of images in [0, 1], <c>[count, 3, size, size]</c>.</summary>
    public static float[] Images(int count, int seed, int size = 224)
    {
        var random = new Random(seed);
        var values = new float[count * 3 * size * size];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = random.NextSingle();
        }

        return values;
    }
}
