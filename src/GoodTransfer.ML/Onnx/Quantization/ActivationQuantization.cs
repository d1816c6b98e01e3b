namespace GoodTransfer.ML.Onnx.Quantization;

/// <summary>The range of values an activation tensor took during calibration.</summary>
/// <param name="Min">The smallest value seen (or the low end of the kept range).</param>
/// <param name="Max">The largest value seen (or the high end of the kept range).</param>
internal readonly record struct ActivationRange(float Min, float Max);

/// <summary>
/// How one activation tensor is stored as uint8: <c>real = Scale × (q − ZeroPoint)</c>, the
/// asymmetric affine scheme of ONNX's <c>QuantizeLinear</c> with a uint8 zero point.
/// </summary>
/// <param name="Scale">The real value of one step; always positive and finite.</param>
/// <param name="ZeroPoint">The uint8 code of the real value 0.</param>
internal readonly record struct ActivationQuantization(float Scale, byte ZeroPoint)
{
    /// <summary>
    /// The parameters that spread <paramref name="range"/> over the 256 codes. The range is first
    /// widened to contain 0, so that 0 has an exact code: Conv and MaxPool pad with the zero point,
    /// and a Relu's output (range [0, max]) gets zero point 0, the code ONNX Runtime needs to fold
    /// the Relu into the convolution or addition before it.
    /// </summary>
    /// <param name="range">The calibrated range.</param>
    /// <returns>The parameters; a range that is all zero (or not finite) gets scale 1, zero point 0.</returns>
    public static ActivationQuantization FromRange(ActivationRange range)
    {
        var low = Math.Min(range.Min, 0f);
        var high = Math.Max(range.Max, 0f);
        var scale = (high - low) / byte.MaxValue;
        if (!float.IsFinite(scale) || scale <= float.Epsilon * byte.MaxValue)
        {
            return new ActivationQuantization(1f, 0);
        }

        var zeroPoint = Math.Clamp(Math.Round(-low / scale, MidpointRounding.ToEven), 0, byte.MaxValue);
        return new ActivationQuantization(scale, (byte)zeroPoint);
    }
}
