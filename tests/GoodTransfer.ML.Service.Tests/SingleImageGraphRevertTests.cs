using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;

namespace GoodTransfer.ML.Service.Tests;

/// <summary>Recovering the batched graph from a saved model's one-image graph refuses any other graph, saying what is missing.</summary>
public sealed class SingleImageGraphRevertTests
{
    [Fact]
    public void A_graph_that_Apply_did_not_make_is_refused_naming_what_is_missing()
    {
        var noGraph = Assert.Throws<InvalidDataException>(() => SingleImageGraph.Revert(new ModelProto()));
        var otherInputs = new ModelProto { Graph = new GraphProto() };
        otherInputs.Graph.Input.Add(new ValueInfoProto { Name = "input" });
        var wrongNames = Assert.Throws<InvalidDataException>(() => SingleImageGraph.Revert(otherInputs));

        Assert.Equal("The ONNX model is not GoodTransfer.ML's one-image featurizer: it has no graph.", noGraph.Message);
        Assert.Contains($"are not '{SingleImageGraph.InputName}' and '{SingleImageGraph.OutputName}'", wrongNames.Message, StringComparison.Ordinal);
    }
}
