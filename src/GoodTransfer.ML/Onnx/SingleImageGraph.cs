using System.Runtime.InteropServices;
using GoodTransfer.ML.Onnx.Proto;
using Google.Protobuf;

namespace GoodTransfer.ML.Onnx;

/// <summary>
/// Rewrites the batched featurizer into the one-image form that ML.NET's <c>OnnxTransformer</c> runs:
/// input <see cref="InputName"/> float32 <c>[3, S, S]</c> (<c>S</c> the preprocessing's crop size, 224 for ImageNet),
/// output <see cref="OutputName"/> float32 <c>[C]</c>.
/// </summary>
/// <remarks>
/// OnnxTransformer feeds one row per call and maps columns to graph inputs and outputs by name; with
/// static shapes on both ends its output column is a known-size <c>Vector&lt;Single, C&gt;</c>, which every
/// ML.NET trainer accepts. The network in between is the batched graph unchanged (an <c>Unsqueeze</c>
/// in front, a <c>Reshape</c> behind), so both forms compute the same features.
/// ML.NET also refuses a model with float16 initializers (its type parser knows no float16), so those of
/// a float16 model are stored as float32, which holds every float16 value exactly, each followed by a
/// <c>Cast</c> back to float16 that ONNX Runtime folds away when it loads the model: the network is the
/// same float16 network.
/// </remarks>
internal static class SingleImageGraph
{
    /// <summary>The graph input, and the column name that the preprocessing step writes.</summary>
    public const string InputName = "goodtransfer_pixels";

    /// <summary>The graph output, and the column name that the ONNX step writes.</summary>
    public const string OutputName = "goodtransfer_features";

    /// <summary>Rewrites <paramref name="model"/> in place.</summary>
    /// <param name="model">The batched featurizer, in any precision.</param>
    /// <param name="featureSize">The length of its features.</param>
    /// <param name="preprocessing">
    /// The preprocessing it was built for: the input is one <c>[3, CropSize, CropSize]</c> image. For any but
    /// ImageNet's, the last dimension is left symbolic: a saved model's preprocessing step then writes a
    /// vector of unstated length (its size cannot be an attribute), which ML.NET's OnnxTransformer accepts
    /// only for an input with one open dimension.
    /// </param>
    public static void Apply(ModelProto model, int featureSize, ImagePreprocessing preprocessing)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(preprocessing);
        var graph = model.Graph;
        var crop = preprocessing.CropSize;
        var imageNet = preprocessing == ImagePreprocessing.ImageNet;
        graph.Input.Clear();
        graph.Input.Add(imageNet
            ? ResNetGraphBuilder.TensorValueInfo(InputName, Fixed(3), crop, crop)
            : ResNetGraphBuilder.TensorValueInfo(InputName, [Fixed(3), Fixed(crop), new TensorShapeProto.Types.Dimension { DimParam = "width" }]));
        graph.Output.Clear();
        graph.Output.Add(ResNetGraphBuilder.TensorValueInfo(OutputName, Fixed(featureSize)));

        if (imageNet)
        {
            graph.Initializer.Add(Int64s("single_image.batch_axis", 0));
            graph.Initializer.Add(Int64s("single_image.feature_shape", featureSize));
            graph.Node.Insert(0, Node("Unsqueeze", "single_image.unsqueeze", [InputName, "single_image.batch_axis"], ResNetGraphBuilder.InputName));
        }
        else
        {
            // The open width admits the preprocessing step's vector of unstated length; the Reshape to the fixed
            // [1, 3, S, S] gives the network static shapes, so ONNX Runtime picks the kernels it picks for the
            // batched graph and both forms compute the same floats.
            graph.Initializer.Add(Int64s("single_image.image_shape", 1, 3, crop, crop));
            graph.Initializer.Add(Int64s("single_image.feature_shape", featureSize));
            graph.Node.Insert(0, Node("Reshape", "single_image.image", [InputName, "single_image.image_shape"], ResNetGraphBuilder.InputName));
        }

        graph.Node.Add(Node("Reshape", "single_image.reshape", [ResNetGraphBuilder.OutputName, "single_image.feature_shape"], OutputName));
        StoreFloat16InitializersAsFloat32(graph);
    }

    /// <summary>
    /// The batched featurizer back from its one-image form, as a saved model holds it (<see cref="Apply"/> undone):
    /// the <c>Unsqueeze</c> or <c>Reshape</c> in front and the <c>Reshape</c> behind are removed, and the input
    /// <c>image</c> <c>[N, 3, S, S]</c> and output <c>features</c> <c>[N, C]</c> are restored; the network in between
    /// is unchanged, so both forms compute the same features. A float16 model keeps its float32-stored
    /// initializers and their casts.
    /// </summary>
    /// <param name="model">A one-image model that <see cref="Apply"/> made; rewritten in place.</param>
    /// <exception cref="InvalidDataException">The model is not one that <see cref="Apply"/> made; the message says what is missing.</exception>
    public static void Revert(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph ?? throw NotSingleImage("it has no graph");
        if (graph.Input.Count != 1 || graph.Input[0].Name != InputName || graph.Output.Count != 1 || graph.Output[0].Name != OutputName)
        {
            throw NotSingleImage($"its input and output are not '{InputName}' and '{OutputName}'");
        }

        var input = graph.Input[0].Type?.TensorType?.Shape?.Dim;
        var output = graph.Output[0].Type?.TensorType?.Shape?.Dim;
        if (input is not { Count: 3 } || input[1].DimValue <= 0 || output is not { Count: 1 } || output[0].DimValue <= 0)
        {
            throw NotSingleImage("its input is not [3, S, S] or its output is not [C]");
        }

        var crop = checked((int)input[1].DimValue);
        var featureSize = checked((int)output[0].DimValue);
        string[] added = ["single_image.unsqueeze", "single_image.image", "single_image.reshape"];
        var removed = graph.Node.Where(node => added.Contains(node.Name)).ToList();
        if (removed.Count != 2 || removed[^1].Name != "single_image.reshape")
        {
            throw NotSingleImage("the nodes it adds around the network are not there");
        }

        foreach (var node in removed)
        {
            graph.Node.Remove(node);
        }

        foreach (var initializer in graph.Initializer.Where(i => i.Name.StartsWith("single_image.", StringComparison.Ordinal)).ToList())
        {
            graph.Initializer.Remove(initializer);
        }

        var batch = new TensorShapeProto.Types.Dimension { DimParam = ResNetGraphBuilder.BatchDimension };
        graph.Input.Clear();
        graph.Input.Add(ResNetGraphBuilder.TensorValueInfo(ResNetGraphBuilder.InputName, batch, 3, crop, crop));
        graph.Output.Clear();
        graph.Output.Add(ResNetGraphBuilder.TensorValueInfo(ResNetGraphBuilder.OutputName, batch.Clone(), featureSize));
    }

    private static InvalidDataException NotSingleImage(string why) =>
        new($"The ONNX model is not GoodTransfer.ML's one-image featurizer: {why}.");

    private static void StoreFloat16InitializersAsFloat32(GraphProto graph)
    {
        var casts = new List<NodeProto>();
        foreach (var initializer in graph.Initializer.Where(i => i.DataType == (int)TensorProto.Types.DataType.Float16))
        {
            var halves = MemoryMarshal.Cast<byte, Half>(initializer.RawData.Span);
            var bytes = new byte[halves.Length * sizeof(float)];
            var floats = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
            for (var i = 0; i < halves.Length; i++)
            {
                floats[i] = (float)halves[i];
            }

            var float16Name = initializer.Name;
            initializer.Name = float16Name + ".float32";
            initializer.DataType = (int)TensorProto.Types.DataType.Float;
            initializer.RawData = UnsafeByteOperations.UnsafeWrap(bytes);
            casts.Add(Float16Converter.Cast(float16Name + ".to_float16", initializer.Name, float16Name, TensorProto.Types.DataType.Float16));
        }

        for (var i = casts.Count - 1; i >= 0; i--)
        {
            graph.Node.Insert(0, casts[i]);
        }
    }

    private static NodeProto Node(string opType, string name, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    private static TensorProto Int64s(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        return tensor;
    }

    private static TensorShapeProto.Types.Dimension Fixed(int size) => new() { DimValue = size };
}
