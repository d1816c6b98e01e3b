using System.Numerics;
using System.Runtime.InteropServices;
using GoodTransfer.ML.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;

namespace GoodTransfer.ML.Onnx.Quantization;

/// <summary>
/// Runs the float model on calibration images with the values to quantize exposed as extra graph
/// outputs, and records the range each value takes.
/// </summary>
internal static class ActivationCalibrator
{
    /// <summary>The smallest and largest value of each named activation over all images.</summary>
    /// <param name="model">The float model; it is not changed. Its one input is <c>[N, 3, S, S]</c>, S the preprocessing's crop size.</param>
    /// <param name="values">The activations to measure (names of values in the graph).</param>
    /// <param name="images">The calibration images, each a <c>[3, S, S]</c> tensor as <c>ToTensor</c> gives it.</param>
    /// <returns>Each value's range.</returns>
    /// <exception cref="ArgumentException">No image, or an image of the wrong size.</exception>
    public static Dictionary<string, ActivationRange> MinMax(ModelProto model, IReadOnlyList<string> values, IReadOnlyList<float[]> images)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(images);
        var inputShape = CheckImages(model, images);

        var min = new float[values.Count];
        var max = new float[values.Count];
        min.AsSpan().Fill(float.PositiveInfinity);
        max.AsSpan().Fill(float.NegativeInfinity);
        using (var session = ProbeSession(model, values))
        using (var runOptions = new RunOptions())
        {
            string[] inputNames = [model.Graph.Input[0].Name];
            foreach (var image in images)
            {
                using var input = OrtValue.CreateTensorValueFromMemory(image, inputShape);
                using var outputs = session.Run(runOptions, inputNames, [input], values);
                for (var i = 0; i < values.Count; i++)
                {
                    UpdateMinMax(outputs[i].GetTensorDataAsSpan<float>(), ref min[i], ref max[i]);
                }
            }
        }

        var ranges = new Dictionary<string, ActivationRange>(StringComparer.Ordinal);
        for (var i = 0; i < values.Count; i++)
        {
            ranges[values[i]] = new ActivationRange(min[i], max[i]);
        }

        return ranges;
    }

    /// <summary>The model with <paramref name="values"/> added to its outputs, in an ONNX Runtime session.</summary>
    /// <remarks>Owns a native session: the caller disposes it.</remarks>
    private static InferenceSession ProbeSession(ModelProto model, IReadOnlyList<string> values)
    {
        var probe = model.Clone();
        probe.Graph.Output.Clear();
        foreach (var value in values)
        {
            probe.Graph.Output.Add(new ValueInfoProto
            {
                Name = value,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        }

        using var options = new SessionOptions();
        return new InferenceSession(probe.ToByteArray(), options);
    }

    private static long[] CheckImages(ModelProto model, IReadOnlyList<float[]> images)
    {
        if (images.Count == 0)
        {
            throw new ArgumentException("Calibration needs at least one image.", nameof(images));
        }

        var dims = model.Graph.Input[0].Type.TensorType.Shape.Dim;
        long[] shape = [1, .. dims.Skip(1).Select(d => d.DimValue)];
        var length = shape.Aggregate(1L, (product, size) => product * size);
        if (images.Any(image => image is null || image.LongLength != length))
        {
            throw new ArgumentException($"Each calibration image must be a [{string.Join(", ", shape.Skip(1))}] tensor of {length} floats.", nameof(images));
        }

        return shape;
    }

    private static void UpdateMinMax(ReadOnlySpan<float> data, ref float min, ref float max)
    {
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(data);
        var low = new Vector<float>(min);
        var high = new Vector<float>(max);
        foreach (var vector in vectors)
        {
            low = Vector.Min(low, vector);
            high = Vector.Max(high, vector);
        }

        for (var lane = 0; lane < Vector<float>.Count; lane++)
        {
            min = Math.Min(min, low[lane]);
            max = Math.Max(max, high[lane]);
        }

        foreach (var value in data[(vectors.Length * Vector<float>.Count)..])
        {
            min = Math.Min(min, value);
            max = Math.Max(max, value);
        }
    }
}
