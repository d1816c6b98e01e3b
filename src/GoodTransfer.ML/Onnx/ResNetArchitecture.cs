using System.Globalization;
using GoodTransfer.ML.Checkpoints;

namespace GoodTransfer.ML.Onnx;

/// <summary>The residual block a ResNet is built from.</summary>
internal enum ResNetBlockKind
{
    /// <summary>Two 3×3 convolutions, the stride on the first (ResNet-18 and ResNet-34).</summary>
    Basic,

    /// <summary>
    /// A 1×1, a grouped 3×3 and a 1×1 convolution, the stride on the 3×3 ("ResNet v1.5", as in
    /// torchvision): ResNet-50 and deeper, ResNeXt and Wide ResNet.
    /// </summary>
    Bottleneck,
}

/// <summary>One bias-free convolution of a ResNet and the BatchNorm that follows it.</summary>
/// <param name="Name">The module name, e.g. <c>layer1.0.conv1</c> or <c>layer2.0.downsample.0</c>.</param>
/// <param name="BatchNormName">The BatchNorm module after it, e.g. <c>layer1.0.bn1</c> or <c>layer2.0.downsample.1</c>.</param>
/// <param name="InChannels">Input channels (all groups together).</param>
/// <param name="OutChannels">Output channels.</param>
/// <param name="KernelSize">The (square) kernel size.</param>
/// <param name="Stride">The stride, the same along both axes.</param>
/// <param name="Padding">The zero padding on each of the four sides.</param>
/// <param name="Groups">The number of groups.</param>
internal sealed record ResNetConvolution(
    string Name,
    string BatchNormName,
    int InChannels,
    int OutChannels,
    int KernelSize,
    int Stride,
    int Padding,
    int Groups)
{
    /// <summary>The state-dict key of the weight.</summary>
    public string WeightKey => Name + ".weight";

    /// <summary>The weight's shape, <c>[out, in / groups, k, k]</c> as in PyTorch.</summary>
    /// <returns>A new array.</returns>
    public int[] GetWeightShape() => [OutChannels, InChannels < 0 ? InChannels : InChannels / Groups, KernelSize, KernelSize];
}

/// <summary>One residual block: <c>relu(main path(x) + shortcut(x))</c>.</summary>
/// <param name="Name">The module name, e.g. <c>layer3.5</c>.</param>
/// <param name="Stage">The stage, 1 to 4, as in <c>layer1</c> to <c>layer4</c>.</param>
/// <param name="MainPath">The convolutions of the main path in order; a ReLU follows each but the last.</param>
/// <param name="Downsample">The 1×1 projection of the shortcut, or <see langword="null"/> for the identity.</param>
internal sealed record ResNetBlock(string Name, int Stage, IReadOnlyList<ResNetConvolution> MainPath, ResNetConvolution? Downsample);

/// <summary>
/// The shape of a torchvision ResNet (torchvision 0.14, <c>torchvision/models/resnet.py</c>):
/// block kind, blocks per stage, widths and groups, as inferred from a state dict by
/// <see cref="Infer"/>. Everything else (kernel sizes, strides, paddings, where the shortcut
/// needs a projection) follows from torchvision's rules and is laid out in <see cref="Stem"/>
/// and <see cref="Blocks"/>.
/// </summary>
internal sealed record ResNetArchitecture
{
    /// <summary>torchvision ResNets have four residual stages, <c>layer1</c> to <c>layer4</c>.</summary>
    public const int StageCount = 4;

    /// <summary>PyTorch's default BatchNorm epsilon, which torchvision's ResNets use.</summary>
    public const double BatchNormEpsilon = 1e-5;

    // A channel count not (yet) known while inferring; matches any positive size.
    private const int Unknown = -1;

    // At most this many keys are listed in an exception message; the properties hold all.
    private const int MaxKeysInMessage = 10;

    private static readonly string[] BatchNormSuffixes = ["weight", "bias", "running_mean", "running_var"];

    private readonly int[] blocksPerStage;
    private readonly int[] stageWidths;
    private readonly int[] stageOutputChannels;

    /// <summary>Describes a ResNet; the name is torchvision's when the shape is one of its models.</summary>
    /// <param name="blockKind">Basic or bottleneck blocks.</param>
    /// <param name="blocksPerStage">The number of blocks in each of the four stages, each at least 1.</param>
    /// <param name="stemWidth">The output channels of the 7×7 stem convolution.</param>
    /// <param name="stageWidths">Per stage, the channels inside a block (of the 3×3 convolutions); for basic blocks equal to <paramref name="stageOutputChannels"/>.</param>
    /// <param name="stageOutputChannels">Per stage, the channels a block outputs.</param>
    /// <param name="groups">The groups of the bottleneck's 3×3 convolution; 1 for basic blocks.</param>
    /// <exception cref="ArgumentException">The description is not a possible torchvision ResNet.</exception>
    public ResNetArchitecture(
        ResNetBlockKind blockKind,
        IReadOnlyList<int> blocksPerStage,
        int stemWidth,
        IReadOnlyList<int> stageWidths,
        IReadOnlyList<int> stageOutputChannels,
        int groups)
        : this(null, blockKind, blocksPerStage, stemWidth, stageWidths, stageOutputChannels, groups)
    {
    }

    private ResNetArchitecture(
        string? name,
        ResNetBlockKind blockKind,
        IReadOnlyList<int> blocksPerStage,
        int stemWidth,
        IReadOnlyList<int> stageWidths,
        IReadOnlyList<int> stageOutputChannels,
        int groups)
    {
        ArgumentNullException.ThrowIfNull(blocksPerStage);
        ArgumentNullException.ThrowIfNull(stageWidths);
        ArgumentNullException.ThrowIfNull(stageOutputChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stemWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groups);
        RequireFourPositive(blocksPerStage, nameof(blocksPerStage));
        RequireFourPositive(stageWidths, nameof(stageWidths));
        RequireFourPositive(stageOutputChannels, nameof(stageOutputChannels));
        if (blockKind == ResNetBlockKind.Basic && (groups != 1 || !stageWidths.SequenceEqual(stageOutputChannels)))
        {
            throw new ArgumentException("Basic blocks have one group and the same width inside and out.", nameof(stageWidths));
        }

        if (stageWidths.Any(width => width % groups != 0))
        {
            throw new ArgumentException("Every stage width must be a multiple of the groups.", nameof(groups));
        }

        BlockKind = blockKind;
        this.blocksPerStage = [.. blocksPerStage];
        StemWidth = stemWidth;
        this.stageWidths = [.. stageWidths];
        this.stageOutputChannels = [.. stageOutputChannels];
        Groups = groups;
        Stem = StemConvolution(stemWidth);
        Blocks = LayOutBlocks(blockKind, this.blocksPerStage, stemWidth, this.stageWidths, this.stageOutputChannels, groups, _ => false);
        Name = name ?? TorchvisionName(this) ?? Describe();
    }

    /// <summary>
    /// torchvision's ResNets, each under its torchvision name: <c>resnet18</c>, <c>resnet34</c>,
    /// <c>resnet50</c>, <c>resnet101</c>, <c>resnet152</c>, <c>resnext50_32x4d</c>,
    /// <c>resnext101_32x8d</c>, <c>resnext101_64x4d</c>, <c>wide_resnet50_2</c>, <c>wide_resnet101_2</c>.
    /// </summary>
    public static IReadOnlyList<ResNetArchitecture> TorchvisionModels { get; } =
    [
        Torchvision("resnet18", ResNetBlockKind.Basic, [2, 2, 2, 2], groups: 1, widthPerGroup: 64),
        Torchvision("resnet34", ResNetBlockKind.Basic, [3, 4, 6, 3], groups: 1, widthPerGroup: 64),
        Torchvision("resnet50", ResNetBlockKind.Bottleneck, [3, 4, 6, 3], groups: 1, widthPerGroup: 64),
        Torchvision("resnet101", ResNetBlockKind.Bottleneck, [3, 4, 23, 3], groups: 1, widthPerGroup: 64),
        Torchvision("resnet152", ResNetBlockKind.Bottleneck, [3, 8, 36, 3], groups: 1, widthPerGroup: 64),
        Torchvision("resnext50_32x4d", ResNetBlockKind.Bottleneck, [3, 4, 6, 3], groups: 32, widthPerGroup: 4),
        Torchvision("resnext101_32x8d", ResNetBlockKind.Bottleneck, [3, 4, 23, 3], groups: 32, widthPerGroup: 8),
        Torchvision("resnext101_64x4d", ResNetBlockKind.Bottleneck, [3, 4, 23, 3], groups: 64, widthPerGroup: 4),
        Torchvision("wide_resnet50_2", ResNetBlockKind.Bottleneck, [3, 4, 6, 3], groups: 1, widthPerGroup: 128),
        Torchvision("wide_resnet101_2", ResNetBlockKind.Bottleneck, [3, 4, 23, 3], groups: 1, widthPerGroup: 128),
    ];

    /// <summary>
    /// torchvision's model name (<c>resnet50</c>, <c>resnext101_32x8d</c>, ...) when the shape is one of
    /// <see cref="TorchvisionModels"/>, else a description such as
    /// <c>resnet(bottleneck,[2,1,1,1],stem=8,width=[8,16,32,64],out=[32,64,128,256],groups=4)</c>.
    /// </summary>
    public string Name { get; }

    /// <summary>Basic or bottleneck blocks.</summary>
    public ResNetBlockKind BlockKind { get; }

    /// <summary>The number of blocks in <c>layer1</c> to <c>layer4</c>.</summary>
    public IReadOnlyList<int> BlocksPerStage => blocksPerStage;

    /// <summary>The output channels of the stem convolution <c>conv1</c> (64 in torchvision).</summary>
    public int StemWidth { get; }

    /// <summary>Per stage, the channels of the 3×3 convolutions inside a block.</summary>
    public IReadOnlyList<int> StageWidths => stageWidths;

    /// <summary>Per stage, the channels a block outputs; the last is the size of torchvision's pooled features.</summary>
    public IReadOnlyList<int> StageOutputChannels => stageOutputChannels;

    /// <summary>The groups of the bottleneck's 3×3 convolutions (32 or 64 for ResNeXt); 1 otherwise.</summary>
    public int Groups { get; }

    /// <summary>The stem: <c>conv1</c> (7×7, stride 2, padding 3) followed by <c>bn1</c>.</summary>
    public ResNetConvolution Stem { get; }

    /// <summary>All residual blocks, <c>layer1.0</c> first, in the order the network runs them.</summary>
    public IReadOnlyList<ResNetBlock> Blocks { get; }

    /// <summary>The length of the feature vector for one image.</summary>
    /// <param name="layer">Which stage's pooled output, or all of them.</param>
    /// <returns>The output channels of that stage, or their sum for <see cref="FeatureLayer.AllLayers"/>.</returns>
    public int FeatureSize(FeatureLayer layer) => layer switch
    {
        FeatureLayer.Layer1 => stageOutputChannels[0],
        FeatureLayer.Layer2 => stageOutputChannels[1],
        FeatureLayer.Layer3 => stageOutputChannels[2],
        FeatureLayer.Layer4 => stageOutputChannels[3],
        FeatureLayer.AllLayers => stageOutputChannels.Sum(),
        _ => throw new ArgumentOutOfRangeException(nameof(layer), layer, "Unknown feature layer."),
    };

    /// <summary>
    /// Infers the architecture from a state dict's names and shapes, then checks that the state dict
    /// holds exactly the tensors that architecture needs: every key present with the right shape,
    /// and no other key.
    /// </summary>
    /// <param name="stateDict">A normalised backbone state dict (no <c>fc.*</c>, no <c>num_batches_tracked</c>).</param>
    /// <returns>The architecture.</returns>
    /// <exception cref="CheckpointMismatchException">
    /// Keys are missing, have the wrong shape, or are not used by the architecture. The message names the
    /// file and (up to ten of each) the keys; the exception's properties list all of them.
    /// </exception>
    public static ResNetArchitecture Infer(StateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);

        var blockKind = stateDict.Keys.Any(IsBottleneckOnlyKey) ? ResNetBlockKind.Bottleneck : ResNetBlockKind.Basic;
        var notes = new List<string>();
        var blocks = new int[StageCount];
        for (var stage = 1; stage <= StageCount; stage++)
        {
            blocks[stage - 1] = CountBlocks(stateDict, stage, notes);
        }

        var stem = FirstDimension(stateDict, [("conv1.weight", 4, 0), .. BatchNormSources("bn1"), ("layer1.0.conv1.weight", 4, 1), ("layer1.0.downsample.0.weight", 4, 1)]);
        var outputs = new int[StageCount];
        var widths = new int[StageCount];
        for (var stage = 1; stage <= StageCount; stage++)
        {
            var first = $"layer{stage}.0";
            (string Key, int Rank, int Axis)[] consumers = stage < StageCount
                ? [($"layer{stage}.1.conv1.weight", 4, 1), ($"layer{stage + 1}.0.conv1.weight", 4, 1)]
                : [($"layer{stage}.1.conv1.weight", 4, 1)];
            if (blockKind == ResNetBlockKind.Bottleneck)
            {
                widths[stage - 1] = FirstDimension(stateDict, [($"{first}.conv1.weight", 4, 0), .. BatchNormSources($"{first}.bn1"), ($"{first}.conv2.weight", 4, 0), .. BatchNormSources($"{first}.bn2"), ($"{first}.conv3.weight", 4, 1)]);
                outputs[stage - 1] = FirstDimension(stateDict, [($"{first}.conv3.weight", 4, 0), .. BatchNormSources($"{first}.bn3"), ($"{first}.downsample.0.weight", 4, 0), .. BatchNormSources($"{first}.downsample.1"), .. consumers]);
            }
            else
            {
                outputs[stage - 1] = FirstDimension(stateDict, [($"{first}.conv1.weight", 4, 0), .. BatchNormSources($"{first}.bn1"), ($"{first}.conv2.weight", 4, 0), .. BatchNormSources($"{first}.bn2"), ($"{first}.downsample.0.weight", 4, 0), .. consumers]);
                widths[stage - 1] = outputs[stage - 1];
            }
        }

        var groups = blockKind == ResNetBlockKind.Bottleneck ? InferGroups(stateDict, widths) : 1;

        // Lay out what those numbers imply and compare it with the state dict, key by key. Where a
        // width could not be inferred, every key it came from is missing or misshapen, so the
        // comparison below always reports a problem in that case.
        var expected = new List<(string Key, int[] Shape)>();
        AddExpected(expected, StemConvolution(stem));
        foreach (var block in LayOutBlocks(blockKind, blocks, stem, widths, outputs, groups, prefix => stateDict.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal))))
        {
            foreach (var convolution in block.MainPath)
            {
                AddExpected(expected, convolution);
            }

            if (block.Downsample is not null)
            {
                AddExpected(expected, block.Downsample);
            }
        }

        var missing = new List<string>();
        var mismatched = new List<string>();
        var mismatchDescriptions = new List<string>();
        foreach (var (key, shape) in expected)
        {
            var tensor = stateDict.Find(key);
            if (tensor is null)
            {
                missing.Add(key);
            }
            else if (!ShapeMatches(tensor.Shape, shape))
            {
                mismatched.Add(key);
                mismatchDescriptions.Add($"{key} expected {ShapeText(shape)}, got {tensor.ShapeText}");
            }
        }

        var expectedKeys = expected.Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        var unexpected = stateDict.Keys.Where(key => !expectedKeys.Contains(key)).ToList();

        if (missing.Count > 0 || mismatched.Count > 0 || unexpected.Count > 0)
        {
            var kind = blockKind == ResNetBlockKind.Basic ? "basic" : "bottleneck";
            var parts = new List<string>(notes);
            if (missing.Count > 0)
            {
                parts.Add(Count(missing.Count, "missing key") + ": " + Abbreviate(missing));
            }

            if (mismatched.Count > 0)
            {
                parts.Add(Count(mismatched.Count, "key") + " with the wrong shape: " + Abbreviate(mismatchDescriptions));
            }

            if (unexpected.Count > 0)
            {
                parts.Add(Count(unexpected.Count, "unexpected key") + ": " + Abbreviate(unexpected));
            }

            var reason = $"the state dict does not match a torchvision ResNet with {kind} blocks [{string.Join(", ", blocks)}]: {string.Join("; ", parts)}";
            throw new CheckpointMismatchException(stateDict.SourcePath, reason, missing, mismatched, unexpected);
        }

        return new ResNetArchitecture(blockKind, blocks, stem, widths, outputs, groups);
    }

    /// <summary>Compares the shapes, not the name (which follows from the shape).</summary>
    /// <param name="other">The other architecture.</param>
    /// <returns>Whether both describe the same network.</returns>
    public bool Equals(ResNetArchitecture? other) =>
        other is not null
        && BlockKind == other.BlockKind
        && StemWidth == other.StemWidth
        && Groups == other.Groups
        && blocksPerStage.AsSpan().SequenceEqual(other.blocksPerStage)
        && stageWidths.AsSpan().SequenceEqual(other.stageWidths)
        && stageOutputChannels.AsSpan().SequenceEqual(other.stageOutputChannels);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(BlockKind);
        hash.Add(StemWidth);
        hash.Add(Groups);
        foreach (var value in blocksPerStage.Concat(stageWidths).Concat(stageOutputChannels))
        {
            hash.Add(value);
        }

        return hash.ToHashCode();
    }

    /// <summary>The name.</summary>
    /// <returns><see cref="Name"/>.</returns>
    public override string ToString() => Name;

    private static ResNetArchitecture Torchvision(string name, ResNetBlockKind kind, int[] blocks, int groups, int widthPerGroup)
    {
        // torchvision: planes 64, 128, 256, 512; bottleneck width = int(planes * width_per_group / 64) * groups,
        // output = planes * expansion (1 for basic, 4 for bottleneck).
        int[] planes = [64, 128, 256, 512];
        var expansion = kind == ResNetBlockKind.Basic ? 1 : 4;
        var widths = kind == ResNetBlockKind.Basic ? planes : [.. planes.Select(p => p * widthPerGroup / 64 * groups)];
        return new ResNetArchitecture(name, kind, blocks, 64, widths, [.. planes.Select(p => p * expansion)], groups);
    }

    private static string? TorchvisionName(ResNetArchitecture architecture) =>
        TorchvisionModels.FirstOrDefault(model => model.Equals(architecture))?.Name;

    private string Describe()
    {
        static string List(int[] values) => "[" + string.Join(",", values) + "]";
        return BlockKind == ResNetBlockKind.Basic
            ? string.Create(CultureInfo.InvariantCulture, $"resnet(basic,{List(blocksPerStage)},stem={StemWidth},out={List(stageOutputChannels)})")
            : string.Create(CultureInfo.InvariantCulture, $"resnet(bottleneck,{List(blocksPerStage)},stem={StemWidth},width={List(stageWidths)},out={List(stageOutputChannels)},groups={Groups})");
    }

    private static void RequireFourPositive(IReadOnlyList<int> values, string parameterName)
    {
        if (values.Count != StageCount || values.Any(v => v <= 0))
        {
            throw new ArgumentException($"Expected {StageCount} positive values, one per stage.", parameterName);
        }
    }

    private static ResNetConvolution StemConvolution(int stemWidth) =>
        new("conv1", "bn1", InChannels: 3, stemWidth, KernelSize: 7, Stride: 2, Padding: 3, Groups: 1);

    // torchvision's _make_layer: the first block of a stage takes the stage's stride (1 for layer1,
    // 2 after) and the previous stage's channels; it gets a 1x1 projection (downsample.0, BN
    // downsample.1) exactly when the stride is not 1 or the channels change. Channel counts may be
    // Unknown while inferring; whether the first block of layer1 then has a projection is left to
    // hasKeysUnder, which is asked about the "layerN.M.downsample." prefix.
    private static List<ResNetBlock> LayOutBlocks(
        ResNetBlockKind kind,
        int[] blocksPerStage,
        int stemWidth,
        int[] widths,
        int[] outputs,
        int groups,
        Func<string, bool> hasKeysUnder)
    {
        var blocks = new List<ResNetBlock>();
        for (var stage = 1; stage <= StageCount; stage++)
        {
            var output = outputs[stage - 1];
            var width = widths[stage - 1];
            for (var index = 0; index < blocksPerStage[stage - 1]; index++)
            {
                var name = $"layer{stage}.{index}";
                var input = index > 0 ? output : stage == 1 ? stemWidth : outputs[stage - 2];
                var stride = index == 0 && stage > 1 ? 2 : 1;
                IReadOnlyList<ResNetConvolution> main = kind == ResNetBlockKind.Basic
                    ?
                    [
                        new($"{name}.conv1", $"{name}.bn1", input, output, KernelSize: 3, stride, Padding: 1, Groups: 1),
                        new($"{name}.conv2", $"{name}.bn2", output, output, KernelSize: 3, Stride: 1, Padding: 1, Groups: 1),
                    ]
                    :
                    [
                        new($"{name}.conv1", $"{name}.bn1", input, width, KernelSize: 1, Stride: 1, Padding: 0, Groups: 1),
                        new($"{name}.conv2", $"{name}.bn2", width, width, KernelSize: 3, stride, Padding: 1, groups),
                        new($"{name}.conv3", $"{name}.bn3", width, output, KernelSize: 1, Stride: 1, Padding: 0, Groups: 1),
                    ];
                var needsProjection = index == 0
                    && (stride != 1 || (input == Unknown || output == Unknown ? hasKeysUnder($"{name}.downsample.") : input != output));
                var downsample = needsProjection
                    ? new ResNetConvolution($"{name}.downsample.0", $"{name}.downsample.1", input, output, KernelSize: 1, stride, Padding: 0, Groups: 1)
                    : null;
                blocks.Add(new ResNetBlock(name, stage, main, downsample));
            }
        }

        return blocks;
    }

    private static bool IsBottleneckOnlyKey(string key)
    {
        // layerN.M.conv3.* or layerN.M.bn3.*: only bottleneck blocks have a third convolution.
        var parts = key.Split('.');
        return parts.Length >= 3 && parts[0].StartsWith("layer", StringComparison.Ordinal) && parts[2] is "conv3" or "bn3";
    }

    private static int CountBlocks(StateDict stateDict, int stage, List<string> notes)
    {
        // Block indices are decimal without leading zeros; a numbering that runs past the number of
        // keys cannot be contiguous, so such an index (from a corrupt or hostile file) is not used to
        // size the layout and its keys are reported as unexpected instead.
        var prefix = $"layer{stage}.";
        var indices = new SortedSet<int>();
        foreach (var key in stateDict.Keys)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var end = key.IndexOf('.', prefix.Length);
            var digits = end < 0 ? string.Empty : key[prefix.Length..end];
            if (digits.Length > 0 && digits.All(char.IsAsciiDigit) && (digits.Length == 1 || digits[0] != '0')
                && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < stateDict.Count)
            {
                indices.Add(index);
            }
        }

        if (indices.Count == 0)
        {
            notes.Add($"layer{stage} has no blocks");
            return 1;
        }

        var count = indices.Max + 1;
        var gaps = Enumerable.Range(0, count).Where(i => !indices.Contains(i)).ToList();
        if (gaps.Count > 0)
        {
            notes.Add($"layer{stage} skips block {string.Join(", ", gaps.Take(MaxKeysInMessage))}{(gaps.Count > MaxKeysInMessage ? ", ..." : string.Empty)}");
        }

        return count;
    }

    private static (string Key, int Rank, int Axis)[] BatchNormSources(string batchNorm) =>
        [.. BatchNormSuffixes.Select(suffix => ($"{batchNorm}.{suffix}", 1, 0))];

    // The size of the first source present with the right rank and a positive size on that axis.
    private static int FirstDimension(StateDict stateDict, (string Key, int Rank, int Axis)[] sources)
    {
        foreach (var (key, rank, axis) in sources)
        {
            if (stateDict.Find(key) is { } tensor && tensor.Shape.Length == rank && tensor.Shape[axis] > 0)
            {
                return tensor.Shape[axis];
            }
        }

        return Unknown;
    }

    // groups = width / conv2.weight.shape[1], from the first block whose conv2 gives a whole number
    // that divides every known stage width; 1 if none does (the shapes are then reported as wrong).
    private static int InferGroups(StateDict stateDict, int[] widths)
    {
        for (var stage = 1; stage <= StageCount; stage++)
        {
            var width = widths[stage - 1];
            var conv2 = stateDict.Find($"layer{stage}.0.conv2.weight");
            if (width == Unknown || conv2 is null || conv2.Shape.Length != 4 || conv2.Shape[1] <= 0 || width % conv2.Shape[1] != 0)
            {
                continue;
            }

            var groups = width / conv2.Shape[1];
            if (widths.All(w => w == Unknown || w % groups == 0))
            {
                return groups;
            }
        }

        return 1;
    }

    private static void AddExpected(List<(string Key, int[] Shape)> expected, ResNetConvolution convolution)
    {
        expected.Add((convolution.WeightKey, convolution.GetWeightShape()));
        foreach (var suffix in BatchNormSuffixes)
        {
            expected.Add(($"{convolution.BatchNormName}.{suffix}", [convolution.OutChannels]));
        }
    }

    private static bool ShapeMatches(int[] actual, int[] expected)
    {
        if (actual.Length != expected.Length)
        {
            return false;
        }

        for (var i = 0; i < actual.Length; i++)
        {
            if (expected[i] == Unknown ? actual[i] <= 0 : actual[i] != expected[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string ShapeText(int[] shape) =>
        "[" + string.Join(", ", shape.Select(d => d == Unknown ? "?" : d.ToString(CultureInfo.InvariantCulture))) + "]";

    private static string Count(int count, string noun) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {noun}{(count == 1 ? string.Empty : "s")}");

    private static string Abbreviate(List<string> items) =>
        string.Join(", ", items.Take(MaxKeysInMessage))
        + (items.Count > MaxKeysInMessage ? string.Create(CultureInfo.InvariantCulture, $", and {items.Count - MaxKeysInMessage} more") : string.Empty);
}
