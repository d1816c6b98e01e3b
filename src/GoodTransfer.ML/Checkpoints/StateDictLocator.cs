namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// Finds the backbone's weights inside an unpickled checkpoint, the way the paper's own loading
/// code does, and normalises their names to torchvision's.
/// </summary>
/// <remarks>
/// Rules, in order (each says which keys it leaves out, and they are reported as ignored):
/// <list type="number">
/// <item>The state dict is <c>checkpoint['model']</c>, else <c>checkpoint['state_dict']</c>, else the root, as in the authors' code.</item>
/// <item>One wrapper prefix is removed: the first of <see cref="Prefixes"/> under which <c>conv1.weight</c> exists. Keys outside it
/// (MoCo's key encoder <c>encoder_k.*</c>, its <c>queue</c> and <c>queue_ptr</c>) are ignored.</item>
/// <item>Classifier and projection heads (<c>fc.*</c>, MoCo's MLP <c>fc.0</c>/<c>fc.2</c>) and BatchNorm's <c>num_batches_tracked</c> are dropped.</item>
/// </list>
/// Everything else is kept and must form a complete ResNet, which the architecture check verifies.
/// </remarks>
internal static class StateDictLocator
{
    /// <summary>Wrapper prefixes, in the order they are tried. The empty prefix first: a plain torchvision state dict.</summary>
    public static readonly string[] Prefixes =
        ["", "module.", "module.encoder_q.", "encoder_q.", "module.encoder.", "encoder.", "module.backbone.", "backbone."];

    private const string StemKey = "conv1.weight";

    public static LocatedStateDict Locate(object root, string path)
    {
        if (root is not PyDict checkpoint)
        {
            throw new CheckpointMismatchException(path, $"the checkpoint holds a {PickleCalls.Describe(root)} at its root, not a dict of weights");
        }

        var (dict, where) = checkpoint.Get("model") is PyDict model ? (model, "checkpoint['model']")
            : checkpoint.Get("state_dict") is PyDict stateDict ? (stateDict, "checkpoint['state_dict']")
            : (checkpoint, "the checkpoint's root");

        var tensors = new List<KeyValuePair<string, TensorRef>>();
        var ignored = new List<string>();
        foreach (var (key, value) in dict.Items)
        {
            if (key is string name && value is TensorRef tensor)
            {
                tensors.Add(new(name, tensor));
            }
            else if (key is string other)
            {
                ignored.Add(other);
            }
        }

        var names = tensors.Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
        var prefix = Prefixes.FirstOrDefault(p => names.Contains(p + StemKey));
        if (prefix is null)
        {
            var sample = string.Join(", ", dict.StringKeys.Take(8).Select(k => $"'{k}'"));
            throw new CheckpointMismatchException(
                path,
                $"no ResNet weights in {where}: no key '{StemKey}' under any known prefix ({string.Join(", ", Prefixes.Select(p => $"'{p}'"))}); its first keys are [{sample}]",
                missingKeys: [StemKey]);
        }

        var kept = new List<LocatedTensor>();
        foreach (var (key, tensor) in tensors)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                ignored.Add(key);
                continue;
            }

            var name = key[prefix.Length..];
            if (IsHead(name) || name.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
            {
                ignored.Add(key);
                continue;
            }

            kept.Add(new LocatedTensor(key, name, tensor));
        }

        var layout = prefix.Length == 0 ? where : $"{where}, prefix '{prefix}'";
        return new LocatedStateDict(layout, kept, ignored);
    }

    private static bool IsHead(string name) => name.StartsWith("fc.", StringComparison.Ordinal);
}

/// <summary>A tensor to keep: its key in the file, its normalised name, and where its data is.</summary>
internal sealed record LocatedTensor(string OriginalKey, string Name, TensorRef Tensor);

/// <summary>The outcome of <see cref="StateDictLocator.Locate"/>.</summary>
internal sealed record LocatedStateDict(string Layout, IReadOnlyList<LocatedTensor> Kept, IReadOnlyList<string> Ignored);
