using System.Buffers.Binary;
using System.Numerics;

namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// PyTorch's legacy format (before 1.6, or <c>_use_new_zipfile_serialization=False</c>): consecutive
/// pickles (magic number, protocol 1001, sys_info, the object, the list of storage keys) followed
/// by each storage in key order as an int64 element count and its raw bytes.
/// </summary>
internal static class LegacyCheckpoint
{
    private static readonly BigInteger MagicNumber = BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
    private const long ProtocolVersion = 1001;

    public static StateDict Read(CheckpointSource source)
    {
        long position = 0;
        var magic = LoadPlain(source, ref position, "legacy magic number");
        if (!IsMagic(magic))
        {
            throw source.Error("the file is a pickle but not a PyTorch checkpoint (no PyTorch magic number); was it written with pickle.dump instead of torch.save?", "legacy magic number", 0);
        }

        var protocol = LoadPlain(source, ref position, "legacy protocol version");
        if (protocol is not ProtocolVersion)
        {
            throw source.Error($"unsupported legacy protocol version {protocol} (expected {ProtocolVersion})", "legacy protocol version");
        }

        var sysInfo = LoadPlain(source, ref position, "legacy sys_info");
        var bigEndian = sysInfo is PyDict info && info.Get("little_endian") is false;

        var storages = new StorageTable();
        var mainInput = new PickleInput(source, position, source.Length, "legacy main pickle");
        var root = new SafeUnpickler(mainInput, (pid, at) => LegacyStorage(pid, at, storages)).Load();
        position = mainInput.Position;

        var keys = LoadPlain(source, ref position, "legacy storage keys");
        if (keys is not PyList keyList || keyList.Items.Any(k => k is not string))
        {
            throw source.Error("the storage key list is not a list of strings", "legacy storage keys", position);
        }

        var spans = LocateStorages(source, position, keyList.Items.Cast<string>(), storages);
        var located = StateDictLocator.Locate(root, source.Path);
        var tensors = TensorMaterializer.ReadAll(source, located, bigEndian, kept =>
            spans.TryGetValue(kept.Tensor.Storage.Key, out var span)
                ? span
                : throw source.Error($"storage '{kept.Tensor.Storage.Key}' of tensor '{kept.OriginalKey}' is not in the file's storage list"));
        return new StateDict(source.Path, CheckpointContainer.Legacy, located.Layout, tensors, located.Ignored);
    }

    private static bool IsMagic(object value) => value switch
    {
        PyBigInt big => big.Value == MagicNumber,
        _ => false,
    };

    /// <summary>Loads a pickle that may hold plain values only (no persistent ids).</summary>
    private static object LoadPlain(CheckpointSource source, ref long position, string entry)
    {
        var input = new PickleInput(source, position, source.Length, entry);
        var value = new SafeUnpickler(input, (_, at) => throw at.Error("a persistent id where none is allowed")).Load();
        position = input.Position;
        return value;
    }

    /// <summary>
    /// Legacy persistent id: <c>('storage', storage_type, root_key, location, numel, view_metadata)</c>,
    /// view_metadata being None or <c>(view_key, offset, size)</c>; or <c>('module', ...)</c> for a pickled module's source.
    /// </summary>
    private static StorageRef LegacyStorage(PyTuple pid, PickleInput input, StorageTable storages)
    {
        if (pid.Count > 0 && pid[0] is "module")
        {
            throw new UnsafeCheckpointException(input.FilePath, "the file pickles a whole model object (it carries module source code) rather than its weights; loading it would run arbitrary code, so it is refused. In PyTorch, save model.state_dict() instead", input.Entry, input.Offset);
        }

        var root = storages.Parse(pid, 6, input);
        if (pid[5] is PyNone)
        {
            return root;
        }

        if (pid[5] is not PyTuple { Count: 3 } view || view[1] is not long offset || view[2] is not long size
            || offset < 0 || size < 0 || offset > root.ElementCount || size > root.ElementCount - offset)
        {
            throw input.Error($"storage '{root.Key}' has a malformed or out-of-range view");
        }

        return root with { ViewOffset = offset, ViewElementCount = size };
    }

    private static Dictionary<string, StorageSpan> LocateStorages(CheckpointSource source, long position, IEnumerable<string> keys, StorageTable storages)
    {
        var spans = new Dictionary<string, StorageSpan>(StringComparer.Ordinal);
        Span<byte> header = stackalloc byte[8];
        foreach (var key in keys)
        {
            if (!storages.TryGet(key, out var storage))
            {
                throw source.Error($"storage '{key}' is listed but no tensor refers to it, so its element size is unknown", "legacy storages", position);
            }

            source.Read(position, header, $"legacy storage '{key}'");
            // torch/csrc/generic/serialization.cpp (writeFileRaw) writes the element count little-endian on every machine.
            var count = BinaryPrimitives.ReadInt64LittleEndian(header);
            if (count != storage.ElementCount)
            {
                throw source.Error($"storage '{key}' holds {count} elements but the pickle declares {storage.ElementCount}", $"legacy storage '{key}'", position);
            }

            var start = position + 8;
            if (count > (source.Length - start) / storage.ElementSize)
            {
                throw source.Error($"storage '{key}' needs {count} elements of {storage.ElementSize} bytes but the file ends first (truncated)", $"legacy storage '{key}'", start);
            }

            var bytes = count * storage.ElementSize;

            if (!spans.TryAdd(key, new StorageSpan(start, bytes)))
            {
                throw source.Error($"storage '{key}' is listed twice", "legacy storages", position);
            }

            position = start + bytes;
        }

        return spans;
    }
}
