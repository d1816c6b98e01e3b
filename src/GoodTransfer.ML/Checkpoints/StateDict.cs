namespace GoodTransfer.ML.Checkpoints;

/// <summary>The container format a checkpoint was read from.</summary>
internal enum CheckpointContainer
{
    /// <summary>Zip archive, PyTorch 1.6 and later.</summary>
    Zip,

    /// <summary>Consecutive pickles followed by raw storages, PyTorch before 1.6.</summary>
    Legacy,
}

/// <summary>
/// A normalised backbone state dict: the tensors of one torchvision ResNet, keyed without
/// wrapper prefixes (<c>module.</c>, <c>encoder_q.</c> ...), with classifier and projection
/// heads, MoCo's key encoder and queue, and <c>num_batches_tracked</c> already removed.
/// </summary>
internal sealed class StateDict
{
    private readonly Dictionary<string, Tensor> byName;

    public StateDict(
        string sourcePath,
        CheckpointContainer container,
        string layout,
        IReadOnlyList<Tensor> tensors,
        IReadOnlyList<string> ignoredKeys)
    {
        SourcePath = sourcePath;
        Container = container;
        Layout = layout;
        Tensors = tensors;
        IgnoredKeys = ignoredKeys;
        byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            byName.Add(tensor.Name, tensor);
        }
    }

    /// <summary>The checkpoint file, for error messages.</summary>
    public string SourcePath { get; }

    public CheckpointContainer Container { get; }

    /// <summary>Where the state dict was found and which prefix was removed, e.g. "checkpoint['state_dict'], prefix 'module.encoder_q.'".</summary>
    public string Layout { get; }

    /// <summary>The kept tensors in file order.</summary>
    public IReadOnlyList<Tensor> Tensors { get; }

    /// <summary>Original keys that were deliberately left out (heads, key encoder, queue, BatchNorm counters).</summary>
    public IReadOnlyList<string> IgnoredKeys { get; }

    public int Count => Tensors.Count;

    public bool Contains(string name) => byName.ContainsKey(name);

    public Tensor? Find(string name) => byName.GetValueOrDefault(name);

    public IEnumerable<string> Keys => Tensors.Select(t => t.Name);
}
