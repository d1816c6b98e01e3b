using GoodTransfer.ML.Onnx.Proto;

namespace GoodTransfer.ML.Onnx.Quantization;

/// <summary>
/// Which values of a float featurizer graph (<see cref="ResNetGraphBuilder"/>'s contract) are stored
/// as uint8 in its QDQ form, chosen so that ONNX Runtime's QDQ fusion turns every node group into an
/// integer kernel.
/// </summary>
/// <remarks>
/// <para>ONNX Runtime (1.31, <c>core/optimizer/qdq_transformer/selectors_actions/qdq_selectors.cc</c>)
/// fuses a node with its DequantizeLinear inputs and QuantizeLinear outputs only when every input
/// comes from a DequantizeLinear (a Conv's bias included, which must then be int32) and every
/// consumer of its output is a QuantizeLinear. A Relu between the node and that QuantizeLinear is
/// dropped when the QuantizeLinear's zero point is the type's lowest code, which uint8 ranges that
/// start at 0 give. Hence:</para>
/// <list type="bullet">
/// <item>the data input of every Conv, both inputs of every Add, and the input and output of every
/// MaxPool are quantized;</item>
/// <item>the output of every Conv is quantized: after its Relu when a Relu is its only consumer
/// (Conv + Relu becomes one QLinearConv), else directly;</item>
/// <item>a MaxPool's output shares its input's parameters: ONNX Runtime drops the pair around a
/// MaxPool only then, and runs MaxPool on uint8;</item>
/// <item>everything else stays float: the normalisation in front, and the pooling, flattening
/// and concatenation behind the last quantized value, so the features stay float32. An Add whose
/// result feeds only the pooling (the last block) takes its inputs dequantized and adds in float.</item>
/// </list>
/// </remarks>
internal sealed class QdqPlan
{
    private QdqPlan(IReadOnlyList<string> activations, IReadOnlyDictionary<string, string> sharedParameters)
    {
        Activations = activations;
        SharedParameters = sharedParameters;
    }

    /// <summary>The float values to quantize, in the order their producers appear in the graph.</summary>
    public IReadOnlyList<string> Activations { get; }

    /// <summary>Values that must reuse another value's parameters: a MaxPool's output → its input.</summary>
    public IReadOnlyDictionary<string, string> SharedParameters { get; }

    /// <summary>Finds the values to quantize.</summary>
    /// <param name="graph">A float graph: Conv weights and biases are float32 initializers.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="ArgumentException">A Conv's weight or bias is not a float32 initializer, or the graph already holds QuantizeLinear or DequantizeLinear nodes.</exception>
    public static QdqPlan For(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (node.OpType is "QuantizeLinear" or "DequantizeLinear")
            {
                throw new ArgumentException($"The graph is already quantized: node '{node.Name}' is a {node.OpType}.", nameof(graph));
            }

            foreach (var input in node.Input)
            {
                if (!consumers.TryGetValue(input, out var list))
                {
                    consumers[input] = list = [];
                }

                list.Add(node);
            }
        }

        var chosen = new HashSet<string>(StringComparer.Ordinal);
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            switch (node.OpType)
            {
                case "Conv":
                    var hasBias = node.Input.Count > 2 && node.Input[2].Length > 0;
                    if (!IsFloatInitializer(node, 1, initializers) || (hasBias && !IsFloatInitializer(node, 2, initializers)))
                    {
                        throw new ArgumentException($"The weight and bias of Conv '{node.Name}' must be float32 initializers.", nameof(graph));
                    }

                    chosen.Add(node.Input[0]);
                    var output = node.Output[0];
                    chosen.Add(consumers.TryGetValue(output, out var next) && next is [{ OpType: "Relu" } relu] ? relu.Output[0] : output);
                    break;
                case "Add":
                    chosen.UnionWith(node.Input);
                    break;
                case "MaxPool":
                    chosen.Add(node.Input[0]);
                    chosen.Add(node.Output[0]);
                    shared[node.Output[0]] = node.Input[0];
                    break;
            }
        }

        // Graph order: graph inputs first, then each node's outputs as the node appears.
        var ordered = graph.Input.Select(i => i.Name)
            .Concat(graph.Node.SelectMany(n => n.Output))
            .Where(chosen.Contains)
            .ToList();
        var unproduced = chosen.Except(ordered, StringComparer.Ordinal).FirstOrDefault();
        if (unproduced is not null)
        {
            throw new ArgumentException($"The value '{unproduced}' feeds an operator to quantize but is neither a graph input nor a node's output.", nameof(graph));
        }

        return new QdqPlan(ordered, shared);
    }

    private static bool IsFloatInitializer(NodeProto conv, int index, Dictionary<string, TensorProto> initializers) =>
        conv.Input.Count > index
        && initializers.TryGetValue(conv.Input[index], out var tensor)
        && tensor.DataType == (int)TensorProto.Types.DataType.Float;
}
