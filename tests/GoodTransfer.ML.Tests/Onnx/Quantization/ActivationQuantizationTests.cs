using GoodTransfer.ML.Onnx.Quantization;

namespace GoodTransfer.ML.Tests.Onnx.Quantization;

public sealed class ActivationQuantizationTests
{
    [Fact]
    public void A_Relu_range_gets_zero_point_0_so_the_Relu_folds_into_the_kernel_before_it()
    {
        var p = ActivationQuantization.FromRange(new ActivationRange(0f, 5.1f));

        Assert.Equal(0, p.ZeroPoint);
        Assert.Equal(5.1f / 255, p.Scale, 1e-7f);
    }

    [Fact]
    public void A_range_across_zero_spreads_over_256_codes_with_zero_exact()
    {
        var p = ActivationQuantization.FromRange(new ActivationRange(-2.1f, 2.64f));

        Assert.Equal((2.64f + 2.1f) / 255, p.Scale, 1e-7f);
        Assert.Equal(Math.Round(2.1 / p.Scale), p.ZeroPoint);
        Assert.InRange(p.Scale * (0 - p.ZeroPoint), -2.1f - p.Scale, -2.1f + p.Scale);
        Assert.InRange(p.Scale * (255 - p.ZeroPoint), 2.64f - p.Scale, 2.64f + p.Scale);
    }

    [Theory]
    [InlineData(1f, 3f, 0)]
    [InlineData(-3f, -1f, 255)]
    public void A_range_on_one_side_of_zero_is_widened_to_contain_it(float min, float max, byte zeroPoint)
    {
        var p = ActivationQuantization.FromRange(new ActivationRange(min, max));

        Assert.Equal(zeroPoint, p.ZeroPoint);
        Assert.Equal(3f / 255, p.Scale, 1e-7f);
    }

    [Theory]
    [InlineData(0f, 0f)]
    [InlineData(float.NegativeInfinity, float.PositiveInfinity)]
    [InlineData(float.PositiveInfinity, float.NegativeInfinity)]
    public void A_degenerate_range_gets_scale_1_and_zero_point_0(float min, float max)
    {
        Assert.Equal(new ActivationQuantization(1f, 0), ActivationQuantization.FromRange(new ActivationRange(min, max)));
    }
}
