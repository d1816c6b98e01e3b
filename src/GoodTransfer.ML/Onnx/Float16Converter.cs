using System.Buffers.Binary;
using System.Runtime.InteropServices;
using GoodTransfer.ML.Onnx.Proto;
using Google.Protobuf;

namespace GoodTransfer.ML.Onnx;

/// <summary>
/// Rewrites a float32 featurizer (<see cref="ResNetGraphBuilder"/>'s contract) into one whose network
/// runs in float16, the form GPUs' tensor cores run fastest, with the same float32 input and output.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>The ImageNet normalisation stays float32 (its <c>Sub</c> and <c>Div</c> see the raw pixels); a
/// <c>Cast</c> to float16 follows it.</item>
/// <item>Every other float initializer (the folded convolution weights and biases) becomes float16,
/// rounded to nearest even as <see cref="Half"/> does.</item>
/// <item>A <c>Cast</c> back to float32 precedes the <c>features</c> output, so the model's inputs,
/// outputs and shapes are those of the float32 model and everything downstream is unchanged.</item>
/// </list>
/// <para>
/// ONNX Runtime's CUDA provider has float16 kernels for every operator of the graph. Its CPU provider
/// has few, and runs the others in float32 between casts that it inserts itself: the model runs
/// there, correctly but slower than the float32 one.
/// </para>
/// </remarks>
internal static class Float16Converter
{
    /// <summary>
    /// The version of this rewrite. Increase it whenever the same float model would convert differently,
    /// so that cached float16 models made by an older version are rebuilt.
    /// </summary>
    public const string Version = "1";

    /// <summary>The largest finite float16 value.</summary>
    private const float MaxFloat16 = 65504f;

    private const string NormalizedValue = "normalized";

    /// <summary>Converts a float featurizer in the batched form.</summary>
    /// <param name="model">The float32 model; it is not changed.</param>
    /// <returns>The float16 model, with the same inputs, outputs and metadata, plus <c>goodtransfer.precision</c> = <c>float16</c>.</returns>
    /// <exception cref="ArgumentException">The graph is not a float featurizer, or a weight is too large for float16.</exception>
    public static ModelProto Convert(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Graph.Node.Any(n => n.OpType == "Cast"))
        {
            throw new ArgumentException("Not a float featurizer: the graph already has casts.", nameof(model));
        }

        var converted = model.Clone();
        var graph = converted.Graph;

        var normalize = SingleProducer(graph, NormalizedValue);
        var normalizationInputs = new HashSet<string>(
            graph.Node.Where(n => n.Name.StartsWith("normalize.", StringComparison.Ordinal)).SelectMany(n => n.Input),
            StringComparer.Ordinal);
        normalize.Output[0] = NormalizedValue + ".float32";
        graph.Node.Insert(graph.Node.IndexOf(normalize) + 1, Cast("normalize.to_float16", normalize.Output[0], NormalizedValue, TensorProto.Types.DataType.Float16));

        var last = SingleProducer(graph, ResNetGraphBuilder.OutputName);
        last.Output[0] = ResNetGraphBuilder.OutputName + ".float16";
        graph.Node.Add(Cast("features.to_float32", last.Output[0], ResNetGraphBuilder.OutputName, TensorProto.Types.DataType.Float));

        foreach (var initializer in graph.Initializer)
        {
            if (initializer.DataType == (int)TensorProto.Types.DataType.Float && !normalizationInputs.Contains(initializer.Name))
            {
                ToFloat16(initializer);
            }
        }

        converted.MetadataProps.Add(new StringStringEntryProto { Key = OnnxMetadataKeys.Precision, Value = "float16" });
        return converted;
    }

    private static NodeProto SingleProducer(GraphProto graph, string value)
    {
        var producers = graph.Node.Where(n => n.Output.Contains(value)).ToList();
        if (producers.Count != 1)
        {
            throw new ArgumentException($"Not a float featurizer: expected one node computing '{value}'.", nameof(graph));
        }

        return producers[0];
    }

    /// <summary>A <c>Cast</c> node.</summary>
    internal static NodeProto Cast(string name, string input, string output, TensorProto.Types.DataType to)
    {
        var node = new NodeProto { OpType = "Cast", Name = name };
        node.Input.Add(input);
        node.Output.Add(output);
        node.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)to });
        return node;
    }

    private static void ToFloat16(TensorProto tensor)
    {
        // Read in place: the raw bytes are the converter's own weight arrays, read once.
        var values = tensor.RawData.IsEmpty
            ? tensor.FloatData.ToArray()
            : MemoryMarshal.Cast<byte, float>(tensor.RawData.Span);
        var bytes = new byte[values.Length * sizeof(ushort)];
        for (var i = 0; i < values.Length; i++)
        {
            if (!(Math.Abs(values[i]) <= MaxFloat16))
            {
                throw new ArgumentException($"The weight '{tensor.Name}' holds {values[i]}, which float16 cannot represent (its largest value is {MaxFloat16}); use Precision.Float32.", nameof(tensor));
            }

            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * sizeof(ushort)), BitConverter.HalfToUInt16Bits((Half)values[i]));
        }

        tensor.FloatData.Clear();
        tensor.RawData = UnsafeByteOperations.UnsafeWrap(bytes);
        tensor.DataType = (int)TensorProto.Types.DataType.Float16;
    }
}
