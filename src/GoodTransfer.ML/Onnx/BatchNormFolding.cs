using GoodTransfer.ML.Checkpoints;

namespace GoodTransfer.ML.Onnx;

/// <summary>A convolution with the BatchNorm after it folded in: <c>conv(x, Weight) + Bias</c>.</summary>
/// <param name="Convolution">Which convolution, with its kernel, stride, padding and groups.</param>
/// <param name="Weight">The folded weight, <c>[out, in / groups, k, k]</c> row-major: the state dict's own array, rewritten in place.</param>
/// <param name="Bias">The folded bias, one value per output channel.</param>
internal sealed record FoldedConvolution(ResNetConvolution Convolution, float[] Weight, float[] Bias);

/// <summary>
/// Folds an eval-mode BatchNorm into the bias-free convolution before it, as inference engines do:
/// <c>BN(conv(x, w)) = conv(x, w') + b'</c> with <c>s = gamma / sqrt(running_var + eps)</c>,
/// <c>w' = w * s</c> per output channel and <c>b' = beta - running_mean * s</c>.
/// </summary>
/// <remarks>
/// The scale is computed in double and each result rounded once to float. The weight is rewritten in
/// place rather than copied: a ResNet-50's weights are 100 MB, a wide ResNet-101's 500 MB.
/// </remarks>
internal static class BatchNormFolding
{
    /// <summary>Folds one BatchNorm into a convolution weight, in place.</summary>
    /// <param name="weight">The convolution weight, <c>[out, ...]</c> row-major; rewritten to <c>w'</c>.</param>
    /// <param name="gamma">The BatchNorm's <c>weight</c>, one per output channel.</param>
    /// <param name="beta">The BatchNorm's <c>bias</c>.</param>
    /// <param name="runningMean">The BatchNorm's <c>running_mean</c>.</param>
    /// <param name="runningVariance">The BatchNorm's <c>running_var</c>.</param>
    /// <param name="epsilon">The BatchNorm's epsilon; torchvision's ResNets use PyTorch's default, 1e-5.</param>
    /// <returns>The folded bias <c>b'</c>, a new array with one value per output channel.</returns>
    /// <exception cref="ArgumentException">The BatchNorm vectors differ in length, or the weight is not a whole number of output channels.</exception>
    public static float[] Fold(
        Span<float> weight,
        ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> beta,
        ReadOnlySpan<float> runningMean,
        ReadOnlySpan<float> runningVariance,
        double epsilon = ResNetArchitecture.BatchNormEpsilon)
    {
        var channels = gamma.Length;
        if (channels == 0 || beta.Length != channels || runningMean.Length != channels || runningVariance.Length != channels)
        {
            throw new ArgumentException("The BatchNorm's weight, bias, running mean and running variance must have one value per channel.", nameof(gamma));
        }

        if (weight.Length % channels != 0)
        {
            throw new ArgumentException("The weight's length is not a multiple of the BatchNorm's channels.", nameof(weight));
        }

        var perChannel = weight.Length / channels;
        var bias = new float[channels];
        for (var channel = 0; channel < channels; channel++)
        {
            var scale = gamma[channel] / Math.Sqrt(runningVariance[channel] + epsilon);
            bias[channel] = (float)(beta[channel] - (runningMean[channel] * scale));
            foreach (ref var value in weight.Slice(channel * perChannel, perChannel))
            {
                value = (float)(value * scale);
            }
        }

        return bias;
    }

    /// <summary>
    /// Folds every BatchNorm of the architecture into its convolution. This consumes the state dict:
    /// the convolution weights are rewritten in place, so the state dict no longer holds the checkpoint's
    /// values and must not be folded or used again.
    /// </summary>
    /// <param name="architecture">The architecture, as inferred (and so checked) by <see cref="ResNetArchitecture.Infer"/> from the same state dict.</param>
    /// <param name="stateDict">The state dict; its convolution weights are overwritten.</param>
    /// <returns>The folded convolutions, by module name (<c>conv1</c>, <c>layer1.0.conv1</c>, <c>layer2.0.downsample.0</c>, ...).</returns>
    /// <exception cref="ArgumentException">The state dict lacks a tensor the architecture needs: it was not the one the architecture was inferred from.</exception>
    public static IReadOnlyDictionary<string, FoldedConvolution> FoldAll(ResNetArchitecture architecture, StateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(stateDict);

        var convolutions = new List<ResNetConvolution> { architecture.Stem };
        foreach (var block in architecture.Blocks)
        {
            convolutions.AddRange(block.MainPath);
            if (block.Downsample is not null)
            {
                convolutions.Add(block.Downsample);
            }
        }

        var folded = new Dictionary<string, FoldedConvolution>(StringComparer.Ordinal);
        foreach (var convolution in convolutions)
        {
            var weight = Require(stateDict, convolution.WeightKey).Data;
            var bn = convolution.BatchNormName;
            var bias = Fold(
                weight,
                Require(stateDict, bn + ".weight").Data,
                Require(stateDict, bn + ".bias").Data,
                Require(stateDict, bn + ".running_mean").Data,
                Require(stateDict, bn + ".running_var").Data);
            folded.Add(convolution.Name, new FoldedConvolution(convolution, weight, bias));
        }

        return folded;
    }

    private static Tensor Require(StateDict stateDict, string key) =>
        stateDict.Find(key) ?? throw new ArgumentException($"The state dict has no '{key}'; infer the architecture from this state dict first.", nameof(stateDict));
}
