using GoodTransfer.ML.Onnx.Quantization;

namespace GoodTransfer.ML.Tests.Onnx.Quantization;

public sealed class ConvolutionWeightsTests
{
    [Fact]
    public void Each_output_channel_gets_its_own_symmetric_scale_and_its_largest_weight_maps_to_127()
    {
        float[] weight = [0.5f, -1.0f, 0.25f, 0.001f, 0.002f, -0.004f];

        var q = ConvolutionWeights.Quantize(weight, default, hasBias: false, outputChannels: 2, inputScale: 0.1f);

        Assert.Equal([1.0f / 127, 0.004f / 127], q.WeightScales);
        Assert.Equal([64, -127, 32, 32, 64, -127], q.Weight.Select(v => (int)v));
        Assert.Null(q.Bias);
        for (var i = 0; i < weight.Length; i++)
        {
            Assert.True(Math.Abs((q.Weight[i] * q.WeightScales[i / 3]) - weight[i]) <= q.WeightScales[i / 3] / 2, $"weight {i}");
        }
    }

    [Fact]
    public void The_bias_is_int32_in_steps_of_input_scale_times_weight_scale()
    {
        float[] weight = [1.27f, -0.5f, 0.127f, 0.1f];
        float[] bias = [0.3f, -2f];

        var q = ConvolutionWeights.Quantize(weight, bias, hasBias: true, outputChannels: 2, inputScale: 0.02f);

        Assert.Equal([0.02f * 0.01f, 0.02f * 0.001f], q.BiasScales!);
        Assert.Equal([(int)Math.Round(0.3 / (0.02f * 0.01f)), (int)Math.Round(-2 / (0.02f * 0.001f))], q.Bias!);
    }

    [Fact]
    public void A_bias_too_large_for_int32_coarsens_its_channel_weight_scale_instead_of_overflowing()
    {
        float[] weight = [1e-9f, -1e-9f];
        float[] bias = [100f];

        var q = ConvolutionWeights.Quantize(weight, bias, hasBias: true, outputChannels: 1, inputScale: 1e-3f);

        Assert.InRange(q.Bias![0], int.MaxValue - 256, int.MaxValue);
        Assert.Equal(100f, q.Bias[0] * q.BiasScales![0], 1e-3f);
    }

    [Fact]
    public void An_all_zero_channel_gets_scale_1_and_zero_weights()
    {
        var q = ConvolutionWeights.Quantize(new float[4], new float[2], hasBias: true, outputChannels: 2, inputScale: 0.5f);

        Assert.Equal([1f, 1f], q.WeightScales);
        Assert.All(q.Weight, w => Assert.Equal(0, w));
        Assert.Equal([0, 0], q.Bias!);
    }

    [Fact]
    public void Sizes_that_do_not_fit_the_channel_count_are_refused()
    {
        Assert.Throws<ArgumentException>(() => ConvolutionWeights.Quantize(new float[5], default, hasBias: false, outputChannels: 2, inputScale: 1f));
        Assert.Throws<ArgumentException>(() => ConvolutionWeights.Quantize(new float[4], new float[3], hasBias: true, outputChannels: 2, inputScale: 1f));
    }
}
