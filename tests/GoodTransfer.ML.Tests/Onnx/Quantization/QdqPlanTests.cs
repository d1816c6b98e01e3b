using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;
using GoodTransfer.ML.Onnx.Quantization;

namespace GoodTransfer.ML.Tests.Onnx.Quantization;

public sealed class QdqPlanTests
{
    private static ModelProto Model(FeatureLayer layer)
    {
        var architecture = SyntheticResNet.TinyBottleneck;
        return ResNetGraphBuilder.Build(architecture, BatchNormFolding.FoldAll(architecture, SyntheticResNet.Create(architecture)), layer, ImagePreprocessing.ImageNet, new Dictionary<string, string>());
    }

    [Fact]
    public void Every_Conv_input_and_output_and_every_Add_input_is_quantized_after_the_Relu_that_follows_it()
    {
        var graph = Model(FeatureLayer.Layer4).Graph;

        var plan = QdqPlan.For(graph);

        var chosen = plan.Activations.ToHashSet();
        var conv = graph.Node.Where(n => n.OpType == "Conv").ToList();
        Assert.All(conv, c => Assert.Contains(c.Input[0], chosen));
        Assert.All(graph.Node.Where(n => n.OpType == "Add"), add => Assert.All(add.Input, i => Assert.Contains(i, chosen)));
        Assert.Contains("normalized", chosen);
        Assert.Contains("relu", chosen);
        Assert.Contains("layer1.0.relu1", chosen);
        Assert.DoesNotContain("layer1.0.conv1", chosen);
        Assert.Contains("layer1.0.conv3", chosen);
        Assert.Contains("layer1.0.downsample.0", chosen);
    }

    [Fact]
    public void MaxPool_output_shares_its_input_parameters_and_the_last_block_output_stays_float()
    {
        var graph = Model(FeatureLayer.Layer4).Graph;
        var lastBlock = graph.Node.Single(n => n.OpType == "GlobalAveragePool").Input[0];

        var plan = QdqPlan.For(graph);

        Assert.Equal("relu", plan.SharedParameters["maxpool"]);
        Assert.Contains("maxpool", plan.Activations);
        Assert.DoesNotContain(lastBlock, plan.Activations);
    }

    [Fact]
    public void Activations_are_listed_in_graph_order()
    {
        var graph = Model(FeatureLayer.AllLayers).Graph;
        var order = graph.Node.SelectMany(n => n.Output).Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);

        var plan = QdqPlan.For(graph);

        Assert.Equal(plan.Activations.OrderBy(a => order[a]), plan.Activations);
    }

    [Fact]
    public void A_graph_that_is_already_quantized_is_refused()
    {
        var graph = Model(FeatureLayer.Layer4).Graph;
        graph.Node.Add(new NodeProto { OpType = "DequantizeLinear", Name = "dq" });

        var error = Assert.Throws<ArgumentException>(() => QdqPlan.For(graph));

        Assert.Contains("already quantized: node 'dq'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Conv_whose_weight_is_not_a_float_initializer_is_refused()
    {
        var graph = Model(FeatureLayer.Layer4).Graph;
        graph.Initializer.Remove(graph.Initializer.Single(t => t.Name == "layer1.0.conv2.weight"));

        var error = Assert.Throws<ArgumentException>(() => QdqPlan.For(graph));

        Assert.Contains("Conv 'layer1.0.conv2' must be float32 initializers", error.Message, StringComparison.Ordinal);
    }
}
