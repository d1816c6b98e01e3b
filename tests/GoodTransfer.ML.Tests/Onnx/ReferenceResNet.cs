using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Onnx;

namespace GoodTransfer.ML.Tests.Onnx;

/// <summary>A feature map of one image, <c>[Channels, Height, Width]</c> row-major, in double.</summary>
internal sealed record FeatureMap(int Channels, int Height, int Width, double[] Values)
{
    public static FeatureMap Zeros(int channels, int height, int width) =>
        new(channels, height, width, new double[channels * height * width]);

    public double this[int c, int y, int x]
    {
        get => Values[(((c * Height) + y) * Width) + x];
        set => Values[(((c * Height) + y) * Width) + x] = value;
    }
}

/// <summary>
/// A direct, naive forward pass of a torchvision ResNet in double precision, written from PyTorch's
/// definitions of each operation (BatchNorm in eval form, unfolded; max pooling that pads with -inf),
/// to check the ONNX graph's wiring without PyTorch.
/// </summary>
internal static class ReferenceResNet
{
    public const double Epsilon = 1e-5;

    private static readonly double[] Mean = [0.485, 0.456, 0.406];
    private static readonly double[] Std = [0.229, 0.224, 0.225];

    /// <summary>The features the ONNX model should output for one image of a batch.</summary>
    public static double[] Features(ResNetArchitecture architecture, StateDict stateDict, float[] images, int imageIndex, FeatureLayer layer, int size = 224)
    {
        var stages = StageFeatures(architecture, stateDict, images, imageIndex, size);
        return layer switch
        {
            FeatureLayer.Layer1 => stages[0],
            FeatureLayer.Layer2 => stages[1],
            FeatureLayer.Layer3 => stages[2],
            FeatureLayer.Layer4 => stages[3],
            _ => [.. stages.SelectMany(s => s)],
        };
    }

    /// <summary>The global-average-pooled output of each of the four stages for one image.</summary>
    public static double[][] StageFeatures(ResNetArchitecture architecture, StateDict stateDict, float[] images, int imageIndex, int size = 224)
    {
        var x = FeatureMap.Zeros(3, size, size);
        var offset = imageIndex * 3 * size * size;
        for (var i = 0; i < x.Values.Length; i++)
        {
            var channel = i / (size * size);
            x.Values[i] = (images[offset + i] - Mean[channel]) / Std[channel];
        }

        x = ConvBatchNorm(x, stateDict, "conv1", "bn1", stride: 2, padding: 3, groups: 1);
        Relu(x);
        x = MaxPool(x, kernel: 3, stride: 2, padding: 1);

        var pooled = new double[4][];
        foreach (var block in SyntheticResNet.Layout(architecture))
        {
            var n = block.Name;
            FeatureMap main;
            if (block.Kind == ResNetBlockKind.Basic)
            {
                main = ConvBatchNorm(x, stateDict, $"{n}.conv1", $"{n}.bn1", block.Stride, 1, 1);
                Relu(main);
                main = ConvBatchNorm(main, stateDict, $"{n}.conv2", $"{n}.bn2", 1, 1, 1);
            }
            else
            {
                main = ConvBatchNorm(x, stateDict, $"{n}.conv1", $"{n}.bn1", 1, 0, 1);
                Relu(main);
                main = ConvBatchNorm(main, stateDict, $"{n}.conv2", $"{n}.bn2", block.Stride, 1, block.Groups);
                Relu(main);
                main = ConvBatchNorm(main, stateDict, $"{n}.conv3", $"{n}.bn3", 1, 0, 1);
            }

            var shortcut = block.HasDownsample
                ? ConvBatchNorm(x, stateDict, $"{n}.downsample.0", $"{n}.downsample.1", block.Stride, 0, 1)
                : x;
            for (var i = 0; i < main.Values.Length; i++)
            {
                main.Values[i] += shortcut.Values[i];
            }

            Relu(main);
            x = main;
            pooled[block.Stage - 1] = GlobalAveragePool(x);
        }

        return pooled;
    }

    /// <summary>PyTorch's Conv2d without bias: zero padding, grouped channels.</summary>
    public static FeatureMap Convolve(FeatureMap input, float[] weight, int outChannels, int kernel, int stride, int padding, int groups)
    {
        var outHeight = ((input.Height + (2 * padding) - kernel) / stride) + 1;
        var outWidth = ((input.Width + (2 * padding) - kernel) / stride) + 1;
        var output = FeatureMap.Zeros(outChannels, outHeight, outWidth);
        var inPerGroup = input.Channels / groups;
        var outPerGroup = outChannels / groups;
        for (var oc = 0; oc < outChannels; oc++)
        {
            var firstInput = oc / outPerGroup * inPerGroup;
            for (var oy = 0; oy < outHeight; oy++)
            {
                for (var ox = 0; ox < outWidth; ox++)
                {
                    var sum = 0.0;
                    for (var ic = 0; ic < inPerGroup; ic++)
                    {
                        for (var ky = 0; ky < kernel; ky++)
                        {
                            var iy = (oy * stride) - padding + ky;
                            if (iy < 0 || iy >= input.Height)
                            {
                                continue;
                            }

                            for (var kx = 0; kx < kernel; kx++)
                            {
                                var ix = (ox * stride) - padding + kx;
                                if (ix < 0 || ix >= input.Width)
                                {
                                    continue;
                                }

                                var w = weight[(((((oc * inPerGroup) + ic) * kernel) + ky) * kernel) + kx];
                                sum += w * input[firstInput + ic, iy, ix];
                            }
                        }
                    }

                    output[oc, oy, ox] = sum;
                }
            }
        }

        return output;
    }

    /// <summary>PyTorch's BatchNorm2d in eval mode, in place.</summary>
    public static void BatchNorm(FeatureMap x, float[] gamma, float[] beta, float[] mean, float[] variance)
    {
        var plane = x.Height * x.Width;
        for (var c = 0; c < x.Channels; c++)
        {
            var scale = gamma[c] / Math.Sqrt(variance[c] + Epsilon);
            for (var i = c * plane; i < (c + 1) * plane; i++)
            {
                x.Values[i] = ((x.Values[i] - mean[c]) * scale) + beta[c];
            }
        }
    }

    private static FeatureMap ConvBatchNorm(FeatureMap x, StateDict stateDict, string conv, string bn, int stride, int padding, int groups)
    {
        var weight = stateDict.Find(conv + ".weight")!;
        var y = Convolve(x, weight.Data, weight.Shape[0], weight.Shape[2], stride, padding, groups);
        BatchNorm(
            y,
            stateDict.Find(bn + ".weight")!.Data,
            stateDict.Find(bn + ".bias")!.Data,
            stateDict.Find(bn + ".running_mean")!.Data,
            stateDict.Find(bn + ".running_var")!.Data);
        return y;
    }

    private static void Relu(FeatureMap x)
    {
        for (var i = 0; i < x.Values.Length; i++)
        {
            x.Values[i] = Math.Max(0, x.Values[i]);
        }
    }

    // PyTorch's MaxPool2d pads with -inf: a padded position never wins.
    private static FeatureMap MaxPool(FeatureMap x, int kernel, int stride, int padding)
    {
        var outHeight = ((x.Height + (2 * padding) - kernel) / stride) + 1;
        var outWidth = ((x.Width + (2 * padding) - kernel) / stride) + 1;
        var output = FeatureMap.Zeros(x.Channels, outHeight, outWidth);
        for (var c = 0; c < x.Channels; c++)
        {
            for (var oy = 0; oy < outHeight; oy++)
            {
                for (var ox = 0; ox < outWidth; ox++)
                {
                    var max = double.NegativeInfinity;
                    for (var ky = 0; ky < kernel; ky++)
                    {
                        for (var kx = 0; kx < kernel; kx++)
                        {
                            int iy = (oy * stride) - padding + ky, ix = (ox * stride) - padding + kx;
                            if (iy >= 0 && iy < x.Height && ix >= 0 && ix < x.Width)
                            {
                                max = Math.Max(max, x[c, iy, ix]);
                            }
                        }
                    }

                    output[c, oy, ox] = max;
                }
            }
        }

        return output;
    }

    private static double[] GlobalAveragePool(FeatureMap x)
    {
        var plane = x.Height * x.Width;
        var pooled = new double[x.Channels];
        for (var c = 0; c < x.Channels; c++)
        {
            pooled[c] = x.Values.AsSpan(c * plane, plane).ToArray().Average();
        }

        return pooled;
    }
}
