namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// What REDUCE, NEWOBJ and BUILD may do with an allowlisted global. Each case builds an inert
/// value from checked arguments; nothing from the file is ever invoked.
/// </summary>
internal static class PickleCalls
{
    public static object Reduce(object callable, PyTuple args, PickleInput input)
    {
        if (callable is not PyGlobal global)
        {
            throw input.Error($"REDUCE calls a {Describe(callable)}, which is not callable");
        }

        switch (global.Kind)
        {
            case GlobalKind.RebuildTensorV2:
                // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                RequireArity(global, args, 6, 7, input);
                return RebuildTensor(args, input);
            case GlobalKind.RebuildTensor:
                // _rebuild_tensor(storage, storage_offset, size, stride)
                RequireArity(global, args, 4, 4, input);
                return RebuildTensor(args, input);
            case GlobalKind.RebuildParameter:
                // _rebuild_parameter(data, requires_grad, backward_hooks)
                RequireArity(global, args, 3, 3, input);
                return args[0] as TensorRef ?? throw input.Error($"{global} wraps a {Describe(args[0])}, not a tensor");
            case GlobalKind.RebuildParameterWithState:
                RequireArity(global, args, 4, 4, input);
                return args[0] as TensorRef ?? throw input.Error($"{global} wraps a {Describe(args[0])}, not a tensor");
            case GlobalKind.OrderedDict:
                return FillDict(global, args, input);
            case GlobalKind.TorchSize:
                RequireArity(global, args, 1, 1, input);
                return args[0] as PyTuple ?? throw input.Error($"torch.Size of a {Describe(args[0])}");
            case GlobalKind.TorchDevice:
                return args.Count > 0 && args[0] is string device ? device : "cpu";
            case GlobalKind.Set:
            case GlobalKind.FrozenSet:
                var set = new PyList();
                if (args.Count > 0 && args[0] is PyList items)
                {
                    items.Items.ForEach(set.Add);
                }

                return set;
            case GlobalKind.ByteArray:
                return args.Count > 0 && args[0] is byte[] bytes ? bytes : Array.Empty<byte>();
            case GlobalKind.CodecsEncode:
                // Protocol 2 writes Python 3 bytes as _codecs.encode(text, 'latin1').
                RequireArity(global, args, 2, 2, input);
                if (args[0] is not string text || args[1] is not string encoding || !IsLatin1(encoding))
                {
                    throw input.Error("_codecs.encode is only allowed as encode(str, 'latin1')");
                }

                return System.Text.Encoding.Latin1.GetBytes(text);
            case GlobalKind.Complex:
            case GlobalKind.InertData:
                return new PyInert(global.FullName);
            default:
                throw input.Error($"'{global}' cannot be called");
        }
    }

    public static object NewObject(object cls, PyTuple args, PickleInput input) => cls switch
    {
        PyGlobal { Kind: GlobalKind.OrderedDict } global => FillDict(global, args, input),
        PyGlobal { Kind: GlobalKind.InertData } global => new PyInert(global.FullName),
        _ => throw input.Error($"NEWOBJ of a {Describe(cls)} is not allowed"),
    };

    /// <summary>
    /// BUILD sets an object's state. PyTorch uses it for OrderedDict's <c>_metadata</c> and tensor
    /// attributes, neither of which a converter needs, so the state is dropped; on anything else it is refused.
    /// </summary>
    public static void Build(object target, PickleInput input)
    {
        if (target is not (PyDict or TensorRef or PyInert))
        {
            throw input.Error($"BUILD on a {Describe(target)} is not allowed");
        }
    }

    public static string Describe(object value) => value switch
    {
        PyNone => "None",
        bool => "bool",
        long or PyBigInt => "int",
        double => "float",
        string => "str",
        byte[] => "bytes",
        PyTuple => "tuple",
        PyList => "list",
        PyDict => "dict",
        PyGlobal global => $"global '{global}'",
        StorageRef => "storage",
        TensorRef => "tensor",
        PyInert inert => inert.TypeName,
        _ => value.GetType().Name,
    };

    private static bool IsLatin1(string encoding) =>
        encoding is "latin1" or "latin-1" or "iso-8859-1" or "ISO-8859-1";

    private static PyDict FillDict(PyGlobal global, PyTuple args, PickleInput input)
    {
        var dict = new PyDict();
        if (args.Count == 0)
        {
            return dict;
        }

        if (args.Count != 1 || args[0] is not PyList pairs)
        {
            throw input.Error($"{global} takes no arguments or one list of pairs");
        }

        foreach (var pair in pairs.Items)
        {
            if (pair is not PyTuple { Count: 2 } kv)
            {
                throw input.Error($"{global} item is a {Describe(pair)}, not a (key, value) pair");
            }

            dict.Set(kv[0], kv[1]);
        }

        return dict;
    }

    private static void RequireArity(PyGlobal global, PyTuple args, int min, int max, PickleInput input)
    {
        if (args.Count < min || args.Count > max)
        {
            var expected = min == max ? $"{min}" : $"{min} or {max}";
            throw input.Error($"{global} called with {args.Count} arguments; it takes {expected}");
        }
    }

    private static TensorRef RebuildTensor(PyTuple args, PickleInput input)
    {
        if (args[0] is not StorageRef storage)
        {
            throw input.Error($"a tensor is rebuilt from a {Describe(args[0])}, not a storage");
        }

        if (args[1] is not long offset || offset < 0)
        {
            throw input.Error("a tensor has a negative or non-integer storage offset");
        }

        var size = IntTuple(args[2], "size", input);
        var stride = IntTuple(args[3], "stride", input);
        if (size.Length != stride.Length)
        {
            throw input.Error($"a tensor has {size.Length} sizes but {stride.Length} strides");
        }

        var tensor = new TensorRef(storage, offset, size, stride);
        CheckBounds(tensor, input);
        return tensor;
    }

    private static long[] IntTuple(object value, string what, PickleInput input)
    {
        if (value is not PyTuple tuple)
        {
            throw input.Error($"a tensor {what} is a {Describe(value)}, not a tuple");
        }

        if (tuple.Count > ReaderLimits.MaxTensorRank)
        {
            throw input.Error($"a tensor has rank {tuple.Count} (at most {ReaderLimits.MaxTensorRank})");
        }

        var result = new long[tuple.Count];
        for (var i = 0; i < result.Length; i++)
        {
            if (tuple[i] is not long dim || dim < 0)
            {
                throw input.Error($"a tensor {what} holds {Describe(tuple[i])} {tuple[i]}, not a non-negative integer");
            }

            result[i] = dim;
        }

        return result;
    }

    /// <summary>Checks with overflow-checked arithmetic that every element the view reaches lies inside its storage.</summary>
    private static void CheckBounds(TensorRef tensor, PickleInput input)
    {
        try
        {
            var count = tensor.ElementCount;
            if (count == 0)
            {
                return;
            }

            var last = tensor.StorageOffset;
            for (var i = 0; i < tensor.Size.Length; i++)
            {
                last = checked(last + checked((tensor.Size[i] - 1) * tensor.Stride[i]));
            }

            if (last >= tensor.Storage.ViewElementCount)
            {
                throw input.Error($"a tensor view reaches element {last} of a storage of {tensor.Storage.ViewElementCount} elements");
            }
        }
        catch (OverflowException)
        {
            throw input.Error("a tensor's sizes, strides and offset overflow 64 bits");
        }
    }
}
