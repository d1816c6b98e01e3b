using System.Numerics;

namespace GoodTransfer.ML.Checkpoints;

// The values the safe unpickler builds. Nothing here can run code: a pickle can only ever
// produce these inert shapes. Containers record their nesting depth when built, so nothing
// that walks them needs to recurse into hostile depths.

/// <summary>Python's None.</summary>
internal sealed class PyNone
{
    public static readonly PyNone Instance = new();

    private PyNone()
    {
    }

    public override string ToString() => "None";
}

/// <summary>A Python int too large for 64 bits (kept only so that parsing can continue).</summary>
internal sealed record PyBigInt(BigInteger Value);

/// <summary>A container with a nesting depth fixed at construction.</summary>
internal abstract class PyContainer
{
    public int Depth { get; protected set; } = 1;

    public static int DepthOf(object value) => value is PyContainer container ? container.Depth : 0;
}

/// <summary>A Python tuple.</summary>
internal sealed class PyTuple : PyContainer
{
    public PyTuple(object[] items)
    {
        Items = items;
        foreach (var item in items)
        {
            Depth = Math.Max(Depth, DepthOf(item) + 1);
        }
    }

    public object[] Items { get; }

    public int Count => Items.Length;

    public object this[int index] => Items[index];
}

/// <summary>A Python list (also used for sets: the reader never needs set semantics).</summary>
internal sealed class PyList : PyContainer
{
    public List<object> Items { get; } = [];

    public void Add(object item)
    {
        Items.Add(item);
        Depth = Math.Max(Depth, DepthOf(item) + 1);
    }
}

/// <summary>
/// A Python dict or OrderedDict in insertion order. Only string keys are indexed (the reader never
/// looks anything else up); other keys are kept in order but never hashed, so a hostile key
/// cannot make hashing recurse.
/// </summary>
internal sealed class PyDict : PyContainer
{
    private readonly Dictionary<string, int> stringKeys = new(StringComparer.Ordinal);

    public List<KeyValuePair<object, object>> Items { get; } = [];

    public void Set(object key, object value)
    {
        Depth = Math.Max(Depth, Math.Max(DepthOf(key), DepthOf(value)) + 1);
        if (key is string name)
        {
            if (stringKeys.TryGetValue(name, out var index))
            {
                Items[index] = new(key, value);
                return;
            }

            stringKeys.Add(name, Items.Count);
        }

        Items.Add(new(key, value));
    }

    public object? Get(string key) => stringKeys.TryGetValue(key, out var index) ? Items[index].Value : null;

    public IEnumerable<string> StringKeys => Items.Select(i => i.Key).OfType<string>();
}

/// <summary>A global the allowlist resolves: a callable or a constant, never instantiated as Python would.</summary>
internal sealed record PyGlobal(string Module, string Name, GlobalKind Kind)
{
    public string FullName => Module + "." + Name;

    public override string ToString() => FullName;
}

/// <summary>What an allowlisted global stands for.</summary>
internal enum GlobalKind
{
    RebuildTensor,
    RebuildTensorV2,
    RebuildParameter,
    RebuildParameterWithState,
    OrderedDict,
    TorchSize,
    TorchDevice,
    StorageType,
    DType,
    Set,
    FrozenSet,
    ByteArray,
    Complex,
    CodecsEncode,

    /// <summary>A data-only type from training scripts (argparse.Namespace, NumPy scalars and arrays): calling it yields an inert placeholder.</summary>
    InertData,
}

/// <summary>The result of calling an <see cref="GlobalKind.InertData"/> global: an opaque value that no weight can come from.</summary>
internal sealed record PyInert(string TypeName);

/// <summary>Element types of PyTorch storages.</summary>
internal enum StorageDType
{
    Float64,
    Float32,
    Float16,
    BFloat16,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
}

/// <summary>A storage named by a persistent id: where its bytes are is up to the container format.</summary>
internal sealed record StorageRef(string Key, StorageDType DType, long ElementCount, long ViewOffset, long ViewElementCount)
{
    public int ElementSize => DType switch
    {
        StorageDType.Float64 or StorageDType.Int64 => 8,
        StorageDType.Float32 or StorageDType.Int32 => 4,
        StorageDType.Float16 or StorageDType.BFloat16 or StorageDType.Int16 => 2,
        _ => 1,
    };

    public bool IsFloatingPoint => DType is StorageDType.Float64 or StorageDType.Float32 or StorageDType.Float16 or StorageDType.BFloat16;
}

/// <summary>A tensor as the pickle describes it: a strided view of a storage, not yet read.</summary>
internal sealed record TensorRef(StorageRef Storage, long StorageOffset, long[] Size, long[] Stride)
{
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (var dim in Size)
            {
                count = checked(count * dim);
            }

            return count;
        }
    }
}
