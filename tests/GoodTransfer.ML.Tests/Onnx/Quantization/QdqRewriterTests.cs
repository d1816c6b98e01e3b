using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;
using GoodTransfer.ML.Onnx.Quantization;

namespace GoodTransfer.ML.Tests.Onnx.Quantization;

public sealed class QdqRewriterTests
{
    private static (ModelProto Float, ModelProto Quantized) Models()
    {
        var architecture = SyntheticResNet.TinyBottleneck;
        var model = ResNetGraphBuilder.Build(architecture, BatchNormFolding.FoldAll(architecture, SyntheticResNet.Create(architecture)), FeatureLayer.Layer4, ImagePreprocessing.ImageNet, new Dictionary<string, string>());
        var plan = QdqPlan.For(model.Graph);
        var parameters = plan.Activations.ToDictionary(a => a, _ => new ActivationQuantization(0.05f, 7));
        return (model, QdqRewriter.Rewrite(model, plan, parameters));
    }

    [Fact]
    public void Each_consumer_of_a_quantized_value_reads_it_through_a_DequantizeLinear_of_its_own()
    {
        var (_, quantized) = Models();
        var graph = quantized.Graph;

        // The block input 'maxpool' feeds layer1.0's conv1 and its downsample Conv.
        var readers = graph.Node.Where(n => n.Input.Contains("maxpool.quantized")).ToList();

        Assert.All(readers, r => Assert.Equal("DequantizeLinear", r.OpType));
        Assert.Equal(2, readers.Count);
        Assert.Equal(2, readers.Select(r => r.Output[0]).Distinct().Count());
        Assert.Single(graph.Node, n => n.OpType == "QuantizeLinear" && n.Input[0] == "maxpool");
    }

    [Fact]
    public void Conv_weights_become_int8_per_channel_and_biases_int32_with_no_float_copy_left()
    {
        var (original, quantized) = Models();
        var initializers = quantized.Graph.Initializer.ToDictionary(t => t.Name);

        foreach (var conv in original.Graph.Node.Where(n => n.OpType == "Conv"))
        {
            var channels = initializers[conv.Input[1] + ".quantized"].Dims[0];
            Assert.Equal((int)TensorProto.Types.DataType.Int8, initializers[conv.Input[1] + ".quantized"].DataType);
            Assert.Equal([channels], initializers[conv.Input[1] + ".scale"].Dims);
            Assert.Equal((int)TensorProto.Types.DataType.Int32, initializers[conv.Input[2] + ".quantized"].DataType);
            Assert.False(initializers.ContainsKey(conv.Input[1]));
            Assert.False(initializers.ContainsKey(conv.Input[2]));
        }

        Assert.DoesNotContain(quantized.Graph.Node, n => n.OpType == "Conv" && n.Input.Skip(1).Any(i => !i.EndsWith(".dequantized", StringComparison.Ordinal)));
    }

    [Fact]
    public void Nodes_stay_in_topological_order_and_the_float_model_is_unchanged()
    {
        var (original, quantized) = Models();
        var before = original.Clone();
        var known = quantized.Graph.Input.Select(i => i.Name).Concat(quantized.Graph.Initializer.Select(t => t.Name)).ToHashSet();

        foreach (var node in quantized.Graph.Node)
        {
            Assert.All(node.Input, i => Assert.True(known.Contains(i), $"'{node.Name}' reads '{i}' before it is produced"));
            known.UnionWith(node.Output);
        }

        Models();
        Assert.Equal(before, original);
    }
}
