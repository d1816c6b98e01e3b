using System.Globalization;
using System.Reflection;
using GoodTransfer.ML.Onnx.Proto;
using Google.Protobuf;

namespace GoodTransfer.ML.Onnx;

/// <summary>
/// Builds the ONNX featurizer of a torchvision ResNet whose BatchNorms are folded into its convolutions.
/// </summary>
/// <remarks>
/// <para>The graph's contract, which the runtime side and users rely on:</para>
/// <list type="bullet">
/// <item>One input, <c>image</c>: float32 <c>[N, 3, S, S]</c> (<c>N</c> a symbolic batch dimension, <c>S</c> the
/// preprocessing's <see cref="ImagePreprocessing.CropSize"/>, 224 for ImageNet), RGB in [0, 1].</item>
/// <item>The preprocessing's normalisation inside the graph, as torchvision's <c>Normalize</c> computes it: <c>Sub</c> the
/// mean (ImageNet's 0.485, 0.456, 0.406), then <c>Div</c> by the standard deviation (0.229, 0.224, 0.225), both
/// <c>[1, 3, 1, 1]</c> float32. It is not folded into <c>conv1</c>, which would be inexact at the zero-padded borders.</item>
/// <item>The network up to the requested stage: <c>Conv</c> (BatchNorm folded in, every attribute explicit),
/// <c>Relu</c>, <c>MaxPool</c>, <c>Add</c>; then <c>GlobalAveragePool</c> and <c>Flatten</c>.</item>
/// <item>One output, <c>features</c>: float32 <c>[N, C]</c>, C the feature size of the requested <see cref="FeatureLayer"/>.</item>
/// <item>The whole preprocessing in the model's metadata (<see cref="OnnxMetadataKeys.ResizeSize"/>, <see cref="OnnxMetadataKeys.CropSize"/>,
/// <see cref="OnnxMetadataKeys.Mean"/>, <see cref="OnnxMetadataKeys.Std"/>), so that a user of the file can resize and crop as it expects.</item>
/// </list>
/// <para>
/// Initializers are views of the folded weight arrays (no copy), so the model must be written before
/// those arrays change. Nodes, values and initializers carry torchvision's module names
/// (<c>layer1.0.conv1</c>, <c>layer1.0.conv1.weight</c>, ...).
/// </para>
/// </remarks>
internal static class ResNetGraphBuilder
{
    /// <summary>The name of the graph's input.</summary>
    public const string InputName = "image";

    /// <summary>The name of the graph's output.</summary>
    public const string OutputName = "features";

    /// <summary>The symbolic name of the batch dimension of the input and the output.</summary>
    public const string BatchDimension = "N";

    /// <summary>The ONNX IR version written (8: ONNX 1.10 and later, ONNX Runtime 1.10 and later).</summary>
    public const long IrVersion = 8;

    /// <summary>The opset of the default domain the graph uses.</summary>
    public const long OpsetVersion = 17;

    /// <summary>The model's producer name.</summary>
    public const string ProducerName = "GoodTransfer.ML";

    /// <summary>
    /// The version of the graph this converter emits. Increase it whenever the same checkpoint would
    /// convert to a different graph, so that cached ONNX files made by an older converter are rebuilt.
    /// </summary>
    public const string ConverterVersion = "1";

    /// <summary>Builds the model.</summary>
    /// <param name="architecture">The ResNet.</param>
    /// <param name="convolutions">Its convolutions with BatchNorm folded, by module name, from <see cref="BatchNormFolding.FoldAll"/>. Only those the requested layer needs are used.</param>
    /// <param name="layer">Which stage's pooled output the graph computes.</param>
    /// <param name="preprocessing">The backbone's preprocessing: the input's size is its crop, the normalisation its mean and std.</param>
    /// <param name="metadata">Entries for the model's <c>metadata_props</c> (the backbone, the checkpoint's SHA-256, ...); the <c>goodtransfer.architecture</c>, <c>feature_layer</c>, <c>feature_size</c>, <c>converter_version</c>, <c>resize_size</c>, <c>crop_size</c>, <c>mean</c> and <c>std</c> entries are added here.</param>
    /// <returns>The model, whose initializers share the folded weight arrays.</returns>
    /// <exception cref="ArgumentException">A convolution is missing or has a weight of the wrong size, or <paramref name="metadata"/> sets a key this method sets.</exception>
    /// <exception cref="PlatformNotSupportedException">The machine is big-endian (ONNX stores weights little-endian, and they are not copied).</exception>
    public static ModelProto Build(
        ResNetArchitecture architecture,
        IReadOnlyDictionary<string, FoldedConvolution> convolutions,
        FeatureLayer layer,
        ImagePreprocessing preprocessing,
        IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(convolutions);
        ArgumentNullException.ThrowIfNull(preprocessing);
        ArgumentNullException.ThrowIfNull(metadata);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX stores weights little-endian; converting on a big-endian machine is not supported.");
        }

        var featureSize = architecture.FeatureSize(layer);
        var ownMetadata = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [OnnxMetadataKeys.Architecture] = architecture.Name,
            [OnnxMetadataKeys.FeatureLayer] = layer.ToString(),
            [OnnxMetadataKeys.FeatureSize] = featureSize.ToString(CultureInfo.InvariantCulture),
            [OnnxMetadataKeys.ConverterVersion] = ConverterVersion,
            [OnnxMetadataKeys.ResizeSize] = preprocessing.ResizeSize.ToString(CultureInfo.InvariantCulture),
            [OnnxMetadataKeys.CropSize] = preprocessing.CropSize.ToString(CultureInfo.InvariantCulture),
            [OnnxMetadataKeys.Mean] = ImagePreprocessing.FormatChannels(preprocessing.Mean, ","),
            [OnnxMetadataKeys.Std] = ImagePreprocessing.FormatChannels(preprocessing.Std, ","),
        };
        var clash = metadata.Keys.FirstOrDefault(ownMetadata.ContainsKey);
        if (clash is not null)
        {
            throw new ArgumentException($"The metadata key '{clash}' is set by the converter.", nameof(metadata));
        }

        var graph = new GraphProto { Name = $"{architecture.Name} {layer}" };
        var writer = new GraphWriter(graph, convolutions);
        graph.Input.Add(TensorValueInfo(InputName, new TensorShapeProto.Types.Dimension { DimParam = BatchDimension }, 3, preprocessing.CropSize, preprocessing.CropSize));
        graph.Output.Add(TensorValueInfo(OutputName, new TensorShapeProto.Types.Dimension { DimParam = BatchDimension }, featureSize));

        // torchvision's Normalize computes (x - mean) / std in float32 (its mean and std become float32
        // tensors); Div rather than Mul by 1/std keeps it bit-exact.
        var mean = writer.Initializer("normalize.mean", [1, 3, 1, 1], [.. preprocessing.Mean]);
        var std = writer.Initializer("normalize.std", [1, 3, 1, 1], [.. preprocessing.Std]);
        var x = writer.Node("Sub", "normalize.sub", [InputName, mean], "normalize.centered");
        x = writer.Node("Div", "normalize.div", [x, std], "normalized");

        x = writer.Convolution(architecture.Stem, x);
        x = writer.Node("Relu", "relu", [x], "relu");
        x = writer.Node(
            "MaxPool",
            "maxpool",
            [x],
            "maxpool",
            Ints("kernel_shape", 3, 3),
            Ints("strides", 2, 2),
            Ints("pads", 1, 1, 1, 1));

        var lastStage = layer switch
        {
            FeatureLayer.Layer1 => 1,
            FeatureLayer.Layer2 => 2,
            FeatureLayer.Layer3 => 3,
            _ => ResNetArchitecture.StageCount,
        };
        var stageOutputs = new string[ResNetArchitecture.StageCount];
        foreach (var block in architecture.Blocks.Where(b => b.Stage <= lastStage))
        {
            x = writer.ResidualBlock(block, x);
            stageOutputs[block.Stage - 1] = x;
        }

        if (layer == FeatureLayer.AllLayers)
        {
            var pooled = new List<string>();
            for (var stage = 1; stage <= ResNetArchitecture.StageCount; stage++)
            {
                pooled.Add(writer.PoolAndFlatten($"layer{stage}", stageOutputs[stage - 1], $"layer{stage}.features"));
            }

            writer.Node("Concat", "concat", pooled, OutputName, Int("axis", 1));
        }
        else
        {
            writer.PoolAndFlatten($"layer{lastStage}", x, OutputName);
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = typeof(ResNetGraphBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? string.Empty,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OpsetVersion });
        foreach (var (key, value) in metadata.OrderBy(entry => entry.Key, StringComparer.Ordinal).Concat(ownMetadata))
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }

        return model;
    }

    /// <summary>A float32 tensor value of the given shape; the first dimension may be symbolic.</summary>
    internal static ValueInfoProto TensorValueInfo(string name, TensorShapeProto.Types.Dimension first, params int[] rest) =>
        TensorValueInfo(name, [first, .. rest.Select(size => new TensorShapeProto.Types.Dimension { DimValue = size })]);

    /// <summary>A float32 tensor's name and shape, each dimension fixed or symbolic.</summary>
    internal static ValueInfoProto TensorValueInfo(string name, params TensorShapeProto.Types.Dimension[] dimensions)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dimensions);
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape },
            },
        };
    }

    private static FoldedConvolution FindFolded(IReadOnlyDictionary<string, FoldedConvolution> convolutions, ResNetConvolution convolution)
    {
        if (!convolutions.TryGetValue(convolution.Name, out var folded))
        {
            throw new ArgumentException($"No folded convolution '{convolution.Name}'.", nameof(convolutions));
        }

        var shape = convolution.GetWeightShape();
        if (folded.Weight.LongLength != shape.Aggregate(1L, (product, size) => product * size) || folded.Bias.Length != convolution.OutChannels)
        {
            throw new ArgumentException($"The folded convolution '{convolution.Name}' does not have the architecture's shape [{string.Join(", ", shape)}].", nameof(convolutions));
        }

        return folded;
    }

    private static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>Appends nodes and initializers to a graph, each named after the module it comes from.</summary>
    private sealed class GraphWriter(GraphProto graph, IReadOnlyDictionary<string, FoldedConvolution> convolutions)
    {
        public string Initializer(string name, long[] dims, float[] values)
        {
            var tensor = new TensorProto
            {
                Name = name,
                DataType = (int)TensorProto.Types.DataType.Float,
                RawData = UnsafeByteOperations.UnsafeWrap(new FloatArrayByteMemory(values).Memory),
            };
            tensor.Dims.AddRange(dims);
            graph.Initializer.Add(tensor);
            return name;
        }

        public string Node(string opType, string name, IEnumerable<string> inputs, string output, params AttributeProto[] attributes)
        {
            var node = new NodeProto { OpType = opType, Name = name };
            node.Input.AddRange(inputs);
            node.Output.Add(output);
            node.Attribute.AddRange(attributes);
            graph.Node.Add(node);
            return output;
        }

        public string Convolution(ResNetConvolution convolution, string input)
        {
            var folded = FindFolded(convolutions, convolution);
            var shape = convolution.GetWeightShape();
            var weight = Initializer(convolution.WeightKey, [.. shape.Select(size => (long)size)], folded.Weight);
            var bias = Initializer(convolution.Name + ".bias", [convolution.OutChannels], folded.Bias);
            int k = convolution.KernelSize, s = convolution.Stride, p = convolution.Padding;
            return Node(
                "Conv",
                convolution.Name,
                [input, weight, bias],
                convolution.Name,
                Ints("kernel_shape", k, k),
                Ints("strides", s, s),
                Ints("pads", p, p, p, p),
                Ints("dilations", 1, 1),
                Int("group", convolution.Groups));
        }

        // torchvision's Bottleneck/BasicBlock.forward: the main path with a ReLU after each convolution
        // but the last, plus the (projected) input, then a ReLU. The block's output value is named after
        // the block, e.g. "layer1.0".
        public string ResidualBlock(ResNetBlock block, string input)
        {
            var x = input;
            for (var i = 0; i < block.MainPath.Count; i++)
            {
                x = Convolution(block.MainPath[i], x);
                if (i < block.MainPath.Count - 1)
                {
                    x = Node("Relu", $"{block.Name}.relu{i + 1}", [x], $"{block.Name}.relu{i + 1}");
                }
            }

            var shortcut = block.Downsample is null ? input : Convolution(block.Downsample, input);
            var sum = Node("Add", $"{block.Name}.add", [x, shortcut], $"{block.Name}.add");
            return Node("Relu", $"{block.Name}.relu", [sum], block.Name);
        }

        public string PoolAndFlatten(string stage, string input, string output)
        {
            var pooled = Node("GlobalAveragePool", $"{stage}.pool", [input], $"{stage}.pool");
            return Node("Flatten", $"{stage}.flatten", [pooled], output, Int("axis", 1));
        }
    }
}
