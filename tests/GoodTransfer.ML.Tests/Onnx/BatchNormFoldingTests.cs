using GoodTransfer.ML.Onnx;

namespace GoodTransfer.ML.Tests.Onnx;

public class BatchNormFoldingTests
{
    [Theory]
    [InlineData(1, 1, 0, 1)]
    [InlineData(3, 1, 1, 1)]
    [InlineData(3, 2, 1, 2)]
    [InlineData(7, 2, 3, 1)]
    public void Folded_convolution_equals_convolution_then_batchnorm(int kernel, int stride, int padding, int groups)
    {
        const int inChannels = 4, outChannels = 6;
        var random = new Random(kernel * 100 + stride * 10 + groups);
        float[] Values(int count, double low, double high) =>
            [.. Enumerable.Range(0, count).Select(_ => (float)(low + ((high - low) * random.NextDouble())))];
        var input = new FeatureMap(inChannels, 9, 11, [.. Values(inChannels * 9 * 11, -1, 1).Select(v => (double)v)]);
        var weight = Values(outChannels * (inChannels / groups) * kernel * kernel, -0.5, 0.5);
        var gamma = Values(outChannels, 0.2, 2);
        var beta = Values(outChannels, -1, 1);
        var mean = Values(outChannels, -1, 1);
        var variance = Values(outChannels, 0.01, 3);

        var expected = ReferenceResNet.Convolve(input, weight, outChannels, kernel, stride, padding, groups);
        ReferenceResNet.BatchNorm(expected, gamma, beta, mean, variance);

        var folded = weight.ToArray();
        var bias = BatchNormFolding.Fold(folded, gamma, beta, mean, variance);
        var actual = ReferenceResNet.Convolve(input, folded, outChannels, kernel, stride, padding, groups);
        var plane = actual.Height * actual.Width;
        for (var i = 0; i < actual.Values.Length; i++)
        {
            actual.Values[i] += bias[i / plane];
        }

        Assert.Equal(expected.Values.Length, actual.Values.Length);
        for (var i = 0; i < expected.Values.Length; i++)
        {
            Assert.Equal(expected.Values[i], actual.Values[i], 1e-5);
        }
    }

    [Fact]
    public void Fold_computes_torchvisions_formula()
    {
        float[] weight = [1f, -2f, 3f, 0.5f];
        float[] gamma = [2f, 0.5f];
        float[] beta = [0.25f, -1f];
        float[] mean = [1f, -3f];
        float[] variance = [4f, 0.25f];

        var bias = BatchNormFolding.Fold(weight, gamma, beta, mean, variance);

        var s0 = 2 / Math.Sqrt(4 + 1e-5);
        var s1 = 0.5 / Math.Sqrt(0.25 + 1e-5);
        Assert.Equal([(float)(1 * s0), (float)(-2 * s0), (float)(3 * s1), (float)(0.5 * s1)], weight);
        Assert.Equal([(float)(0.25 - (1 * s0)), (float)(-1 - (-3 * s1))], bias);
    }

    [Fact]
    public void FoldAll_rewrites_the_state_dicts_own_arrays()
    {
        var stateDict = SyntheticResNet.Create(SyntheticResNet.TinyBottleneck);
        var original = SyntheticResNet.Create(SyntheticResNet.TinyBottleneck);
        var architecture = ResNetArchitecture.Infer(stateDict);

        var folded = BatchNormFolding.FoldAll(architecture, stateDict);

        var downsample = folded["layer1.0.downsample.0"];
        Assert.Same(stateDict.Find("layer1.0.downsample.0.weight")!.Data, downsample.Weight);
        Assert.NotEqual(original.Find("layer1.0.downsample.0.weight")!.Data, downsample.Weight);
        Assert.Equal(64, folded["layer2.0.conv3"].Bias.Length);

        // One entry per convolution: the stem, 3 per bottleneck block (5 blocks), 4 projections.
        Assert.Equal(1 + 15 + 4, folded.Count);
    }

    [Fact]
    public void Fold_refuses_vectors_of_different_lengths()
    {
        Assert.Throws<ArgumentException>(() => BatchNormFolding.Fold(new float[4], [1f, 1f], [0f], [0f, 0f], [1f, 1f]));
        Assert.Throws<ArgumentException>(() => BatchNormFolding.Fold(new float[5], [1f, 1f], [0f, 0f], [0f, 0f], [1f, 1f]));
    }
}
