using System.Runtime.InteropServices;
using GoodTransfer.ML.Onnx.Proto;
using Google.Protobuf;

namespace GoodTransfer.ML.Onnx.Quantization;

/// <summary>
/// Writes the QDQ form of a float graph: a QuantizeLinear after the producer of each value of the
/// <see cref="QdqPlan"/>, a DequantizeLinear in front of each of its consumers, and every Conv's weight
/// and bias stored as int8 and int32 behind DequantizeLinear nodes.
/// </summary>
/// <remarks>
/// Names follow the value they quantize: <c>layer1.0.relu1.quantized</c> (uint8),
/// <c>layer1.0.relu1.dequantized.0</c> (one per consumer, so that each consumer's node group has a
/// DequantizeLinear of its own), <c>layer1.0.conv1.weight.quantized</c> (int8) and
/// <c>layer1.0.conv1.bias.quantized</c> (int32), with <c>.scale</c> and <c>.zero_point</c> beside them.
/// </remarks>
internal static class QdqRewriter
{
    /// <summary>Returns the QDQ model; <paramref name="model"/> is not changed.</summary>
    /// <param name="model">The float model.</param>
    /// <param name="plan">The values to quantize; <see cref="QdqPlan.For"/> has checked that every Conv's weight and bias are float initializers.</param>
    /// <param name="parameters">The parameters of every value in <see cref="QdqPlan.Activations"/>.</param>
    /// <returns>The quantized model, which keeps the float model's inputs, outputs and metadata.</returns>
    /// <exception cref="PlatformNotSupportedException">The machine is big-endian.</exception>
    public static ModelProto Rewrite(ModelProto model, QdqPlan plan, IReadOnlyDictionary<string, ActivationQuantization> parameters)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(parameters);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX stores tensors little-endian; quantizing on a big-endian machine is not supported.");
        }

        var result = model.Clone();
        var graph = result.Graph;
        var nodes = graph.Node.ToList();
        graph.Node.Clear();
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var activations = new HashSet<string>(plan.Activations, StringComparer.Ordinal);
        var dequantizedCount = new Dictionary<string, int>(StringComparer.Ordinal);

        foreach (var value in plan.Activations)
        {
            var p = parameters[value];
            graph.Initializer.Add(Scalar(value + ".scale", p.Scale));
            graph.Initializer.Add(UInt8Scalar(value + ".zero_point", p.ZeroPoint));
        }

        foreach (var input in graph.Input.Where(i => activations.Contains(i.Name)))
        {
            graph.Node.Add(Quantize(input.Name));
        }

        foreach (var node in nodes)
        {
            // One DequantizeLinear per (value, consumer node); a node that reads a value twice reads it twice.
            var dataInput = node.Input.Count > 0 ? node.Input[0] : string.Empty;
            var dequantized = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < node.Input.Count; i++)
            {
                var input = node.Input[i];
                if (!activations.Contains(input))
                {
                    continue;
                }

                if (!dequantized.TryGetValue(input, out var name))
                {
                    var k = dequantizedCount.GetValueOrDefault(input);
                    dequantizedCount[input] = k + 1;
                    name = $"{input}.dequantized.{k}";
                    graph.Node.Add(Node("DequantizeLinear", $"{input}.dequantize.{k}", [input + ".quantized", input + ".scale", input + ".zero_point"], name));
                    dequantized[input] = name;
                }

                node.Input[i] = name;
            }

            if (node.OpType == "Conv")
            {
                QuantizeConvolution(graph, node, initializers, parameters[dataInput].Scale);
            }

            graph.Node.Add(node);
            foreach (var output in node.Output.Where(activations.Contains))
            {
                graph.Node.Add(Quantize(output));
            }
        }

        return result;
    }

    private static void QuantizeConvolution(GraphProto graph, NodeProto conv, Dictionary<string, TensorProto> initializers, float inputScale)
    {
        var weightTensor = initializers[conv.Input[1]];
        var hasBias = conv.Input.Count > 2 && conv.Input[2].Length > 0;
        var biasTensor = hasBias ? initializers[conv.Input[2]] : null;
        var outputChannels = checked((int)weightTensor.Dims[0]);
        var quantized = ConvolutionWeights.Quantize(Floats(weightTensor), biasTensor is null ? default : Floats(biasTensor), hasBias, outputChannels, inputScale);

        var weight = weightTensor.Name;
        graph.Initializer.Remove(weightTensor);
        graph.Initializer.Add(Tensor(weight + ".quantized", TensorProto.Types.DataType.Int8, weightTensor.Dims, MemoryMarshal.AsBytes(quantized.Weight.AsSpan())));
        graph.Initializer.Add(Vector(weight + ".scale", quantized.WeightScales));
        graph.Initializer.Add(Tensor(weight + ".zero_point", TensorProto.Types.DataType.Int8, [outputChannels], new byte[outputChannels]));
        graph.Node.Add(Node("DequantizeLinear", weight + ".dequantize", [weight + ".quantized", weight + ".scale", weight + ".zero_point"], weight + ".dequantized", Axis(0)));
        conv.Input[1] = weight + ".dequantized";

        if (biasTensor is not null)
        {
            var bias = biasTensor.Name;
            graph.Initializer.Remove(biasTensor);
            graph.Initializer.Add(Tensor(bias + ".quantized", TensorProto.Types.DataType.Int32, [outputChannels], MemoryMarshal.AsBytes(quantized.Bias.AsSpan())));
            graph.Initializer.Add(Vector(bias + ".scale", quantized.BiasScales!));
            graph.Initializer.Add(Tensor(bias + ".zero_point", TensorProto.Types.DataType.Int32, [outputChannels], new byte[outputChannels * sizeof(int)]));
            graph.Node.Add(Node("DequantizeLinear", bias + ".dequantize", [bias + ".quantized", bias + ".scale", bias + ".zero_point"], bias + ".dequantized", Axis(0)));
            conv.Input[2] = bias + ".dequantized";
        }
    }

    private static NodeProto Quantize(string value) =>
        Node("QuantizeLinear", value + ".quantize", [value, value + ".scale", value + ".zero_point"], value + ".quantized");

    private static ReadOnlySpan<float> Floats(TensorProto tensor) =>
        tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span) : tensor.FloatData.ToArray();

    private static NodeProto Node(string opType, string name, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static AttributeProto Axis(long axis) =>
        new() { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = axis };

    private static TensorProto Scalar(string name, float value) =>
        new() { Name = name, DataType = (int)TensorProto.Types.DataType.Float, FloatData = { value } };

    private static TensorProto UInt8Scalar(string name, byte value) =>
        new() { Name = name, DataType = (int)TensorProto.Types.DataType.Uint8, RawData = ByteString.CopyFrom(value) };

    private static TensorProto Vector(string name, float[] values) =>
        Tensor(name, TensorProto.Types.DataType.Float, [values.Length], MemoryMarshal.AsBytes(values.AsSpan()));

    private static TensorProto Tensor(string name, TensorProto.Types.DataType type, IEnumerable<long> dims, ReadOnlySpan<byte> raw)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}
