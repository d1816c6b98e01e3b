using System.Diagnostics.CodeAnalysis;

namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// The storages a checkpoint's pickle names through persistent ids. Both containers name a storage
/// as <c>('storage', storage_type, key, location, numel, ...)</c>: the zip format stops there, the
/// legacy format adds a sixth item, its view metadata (read by <see cref="LegacyCheckpoint"/>).
/// One storage may be named many times (tensors sharing it); every mention must agree.
/// </summary>
internal sealed class StorageTable
{
    private readonly Dictionary<string, StorageRef> storages = new(StringComparer.Ordinal);

    /// <summary>
    /// Reads the items both formats share from a persistent id of <paramref name="arity"/> items,
    /// and records the storage it names.
    /// </summary>
    public StorageRef Parse(PyTuple pid, int arity, PickleInput input)
    {
        // torch.serialization compares the tag exactly: 'storage', never 'Storage'.
        if (pid.Count != arity || pid[0] is not "storage")
        {
            throw input.Error($"unsupported persistent id (a {pid.Count}-tuple starting with {PickleCalls.Describe(pid.Count > 0 ? pid[0] : PyNone.Instance)}); only ('storage', ...) {arity}-tuples are allowed");
        }

        if (pid[1] is not PyGlobal global || !PickleAllowlist.TryStorageDType(global, out var dtype))
        {
            throw input.Error($"a storage has type {PickleCalls.Describe(pid[1])}, not a torch storage type");
        }

        if (pid[2] is not string key || pid[4] is not long count || count < 0)
        {
            throw input.Error("a storage persistent id has a malformed key or element count");
        }

        var storage = new StorageRef(key, dtype, count, 0, count);
        if (!storages.TryGetValue(key, out var known))
        {
            storages.Add(key, storage);
            return storage;
        }

        if (known.DType != storage.DType || known.ElementCount != storage.ElementCount)
        {
            throw input.Error($"storage '{key}' is declared twice with different types or sizes");
        }

        return storage;
    }

    public bool TryGet(string key, [MaybeNullWhen(false)] out StorageRef storage) => storages.TryGetValue(key, out storage);
}
