namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// The globals a checkpoint's pickle may name: what PyTorch's own <c>weights_only</c> loader allows
/// for a state dict, plus a few data-only types that training scripts put beside it (they become
/// inert placeholders, never called). Any other global is refused by name as soon as it appears.
/// </summary>
internal static class PickleAllowlist
{
    // Modules whose classes mean the file pickles a whole model object instead of its weights.
    private static readonly string[] ModuleNamespaces = ["torch.nn.", "torchvision.models.", "moco.", "timm."];

    private static readonly Dictionary<string, StorageDType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["DoubleStorage"] = StorageDType.Float64,
        ["FloatStorage"] = StorageDType.Float32,
        ["HalfStorage"] = StorageDType.Float16,
        ["BFloat16Storage"] = StorageDType.BFloat16,
        ["LongStorage"] = StorageDType.Int64,
        ["IntStorage"] = StorageDType.Int32,
        ["ShortStorage"] = StorageDType.Int16,
        ["CharStorage"] = StorageDType.Int8,
        ["ByteStorage"] = StorageDType.UInt8,
        ["BoolStorage"] = StorageDType.Bool,
    };

    // Declared after StorageTypes: static fields initialise in textual order.
    private static readonly Dictionary<string, GlobalKind> Allowed = Build();

    /// <summary>Resolves a global or refuses it; the file is never trusted to name code.</summary>
    public static PyGlobal Resolve(string module, string name, PickleInput input, long offset)
    {
        var fullName = module + "." + name;
        if (Allowed.TryGetValue(fullName, out var kind))
        {
            return new PyGlobal(module, name, kind);
        }

        if (ModuleNamespaces.Any(ns => fullName.StartsWith(ns, StringComparison.Ordinal)))
        {
            throw new UnsafeCheckpointException(
                input.FilePath,
                $"the file pickles a whole model object ('{fullName}') rather than its weights; loading it would run arbitrary code, so it is refused. In PyTorch, save model.state_dict() instead",
                input.Entry,
                offset);
        }

        throw new UnsafeCheckpointException(
            input.FilePath,
            $"unsupported global '{fullName}': a state dict never needs it, and loading it could run arbitrary code",
            input.Entry,
            offset);
    }

    /// <summary>The element type of a storage type global such as <c>torch.FloatStorage</c>.</summary>
    public static bool TryStorageDType(PyGlobal global, out StorageDType dtype) =>
        StorageTypes.TryGetValue(global.Name, out dtype) && global.Kind == GlobalKind.StorageType;

    private static Dictionary<string, GlobalKind> Build()
    {
        var allowed = new Dictionary<string, GlobalKind>(StringComparer.Ordinal)
        {
            ["torch._utils._rebuild_tensor"] = GlobalKind.RebuildTensor,
            ["torch._utils._rebuild_tensor_v2"] = GlobalKind.RebuildTensorV2,
            ["torch._utils._rebuild_parameter"] = GlobalKind.RebuildParameter,
            ["torch._utils._rebuild_parameter_with_state"] = GlobalKind.RebuildParameterWithState,
            ["collections.OrderedDict"] = GlobalKind.OrderedDict,
            ["torch.Size"] = GlobalKind.TorchSize,
            ["torch.device"] = GlobalKind.TorchDevice,
            ["builtins.set"] = GlobalKind.Set,
            ["__builtin__.set"] = GlobalKind.Set,
            ["builtins.frozenset"] = GlobalKind.FrozenSet,
            ["__builtin__.frozenset"] = GlobalKind.FrozenSet,
            ["builtins.bytearray"] = GlobalKind.ByteArray,
            ["__builtin__.bytearray"] = GlobalKind.ByteArray,
            ["builtins.complex"] = GlobalKind.Complex,
            ["__builtin__.complex"] = GlobalKind.Complex,
            ["_codecs.encode"] = GlobalKind.CodecsEncode,
            ["argparse.Namespace"] = GlobalKind.InertData,
            ["numpy.core.multiarray.scalar"] = GlobalKind.InertData,
            ["numpy.core.multiarray._reconstruct"] = GlobalKind.InertData,
            ["numpy._core.multiarray.scalar"] = GlobalKind.InertData,
            ["numpy._core.multiarray._reconstruct"] = GlobalKind.InertData,
            ["numpy.dtype"] = GlobalKind.InertData,
            ["numpy.ndarray"] = GlobalKind.InertData,
        };
        foreach (var storageType in StorageTypes.Keys)
        {
            allowed["torch." + storageType] = GlobalKind.StorageType;
        }

        foreach (var dtype in new[] { "float32", "float", "float16", "half", "bfloat16", "float64", "double", "int64", "long", "int32", "int", "int16", "short", "int8", "uint8", "bool" })
        {
            allowed["torch." + dtype] = GlobalKind.DType;
        }

        return allowed;
    }
}
