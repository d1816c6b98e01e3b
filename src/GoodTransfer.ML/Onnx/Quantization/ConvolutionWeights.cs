namespace GoodTransfer.ML.Onnx.Quantization;

/// <summary>A Conv's weight and bias as ONNX Runtime's integer convolution takes them.</summary>
/// <param name="Weight">The weight in int8, same layout <c>[O, I/groups, kH, kW]</c>: <c>real = WeightScales[o] × q</c>.</param>
/// <param name="WeightScales">One positive scale per output channel (the zero point is 0 for every channel).</param>
/// <param name="Bias">The bias in int32 steps of <c>BiasScales[o]</c> (zero point 0); <see langword="null"/> without a bias.</param>
/// <param name="BiasScales">The input's scale times each channel's weight scale; <see langword="null"/> without a bias.</param>
internal sealed record QuantizedConvolution(sbyte[] Weight, float[] WeightScales, int[]? Bias, float[]? BiasScales);

/// <summary>
/// Quantizes convolution weights per output channel, symmetrically, to int8 in [−127, 127], and biases
/// to int32 in steps of <c>input scale × weight scale</c>.
/// </summary>
/// <remarks>
/// Symmetric (zero point 0) because ONNX Runtime's x64 integer convolutions (MLAS's ConvSym and
/// symmetric GEMM) are built for it, and per channel because the output channels of a folded
/// BatchNorm convolution differ in magnitude by orders of magnitude. The code −128 is left unused
/// so that the range is the same on both sides of 0. The bias's scale is what QLinearConv assumes:
/// it adds the int32 bias to the int32 accumulator unchanged.
/// </remarks>
internal static class ConvolutionWeights
{
    private const float WeightSteps = sbyte.MaxValue;

    /// <summary>Quantizes one convolution.</summary>
    /// <param name="weight">The float weight, output channel first.</param>
    /// <param name="bias">The float bias, one per output channel; ignored without <paramref name="hasBias"/>.</param>
    /// <param name="hasBias">Whether the Conv has a bias.</param>
    /// <param name="outputChannels">The number of output channels O; <paramref name="weight"/>'s length must be a multiple of it.</param>
    /// <param name="inputScale">The scale of the Conv's quantized input.</param>
    /// <returns>The int8 weight, the int32 bias and their scales.</returns>
    /// <exception cref="ArgumentException">The sizes do not agree.</exception>
    public static QuantizedConvolution Quantize(ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, bool hasBias, int outputChannels, float inputScale)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputScale);
        if (weight.Length % outputChannels != 0 || (hasBias && bias.Length != outputChannels))
        {
            throw new ArgumentException($"A weight of {weight.Length} values and a bias of {bias.Length} do not fit {outputChannels} output channels.", nameof(weight));
        }

        var perChannel = weight.Length / outputChannels;
        var quantized = new sbyte[weight.Length];
        var scales = new float[outputChannels];
        var biasSteps = hasBias ? new int[outputChannels] : null;
        var biasScales = hasBias ? new float[outputChannels] : null;
        for (var o = 0; o < outputChannels; o++)
        {
            var channel = weight.Slice(o * perChannel, perChannel);
            var largest = 0f;
            foreach (var w in channel)
            {
                largest = Math.Max(largest, Math.Abs(w));
            }

            var scale = largest / WeightSteps;
            if (hasBias)
            {
                // A bias too large for int32 steps of inputScale × scale (a nearly dead channel with a
                // large folded bias) coarsens the weight scale instead of overflowing.
                scale = Math.Max(scale, (float)(Math.Abs((double)bias[o]) / ((double)inputScale * int.MaxValue)));
            }

            if (!(scale > 0) || !float.IsFinite(scale))
            {
                scale = 1f;
            }

            scales[o] = scale;
            var target = quantized.AsSpan(o * perChannel, perChannel);
            for (var i = 0; i < perChannel; i++)
            {
                target[i] = (sbyte)Math.Clamp(Math.Round(channel[i] / scale, MidpointRounding.ToEven), -WeightSteps, WeightSteps);
            }

            if (hasBias)
            {
                var biasScale = inputScale * scale;
                biasScales![o] = biasScale;
                biasSteps![o] = (int)Math.Clamp(Math.Round(bias[o] / (double)biasScale, MidpointRounding.ToEven), int.MinValue, int.MaxValue);
            }
        }

        return new QuantizedConvolution(quantized, scales, biasSteps, biasScales);
    }
}
