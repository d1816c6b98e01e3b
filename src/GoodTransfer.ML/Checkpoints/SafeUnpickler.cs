using System.Globalization;
using System.Numerics;
using System.Text;

namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// An allowlist unpickler modelled on PyTorch's <c>weights_only</c> loader. It interprets the
/// pickle opcodes as a stack machine but can only ever build the inert values of PickleValues.cs:
/// a global outside <see cref="PickleAllowlist"/> is refused by name the moment it is named, and
/// nothing the file names is ever called. Every size, count and depth is checked first.
/// </summary>
internal sealed class SafeUnpickler
{
    private readonly PickleInput input;
    private readonly Func<PyTuple, PickleInput, object> persistentLoad;
    private readonly List<object> stack = [];
    private readonly Stack<int> marks = new();
    private readonly Dictionary<long, object> memo = [];

    /// <param name="input">The pickle's bytes.</param>
    /// <param name="persistentLoad">Turns a persistent id (a tuple) into a storage reference; the container format decides how.</param>
    public SafeUnpickler(PickleInput input, Func<PyTuple, PickleInput, object> persistentLoad)
    {
        this.input = input;
        this.persistentLoad = persistentLoad;
    }

    /// <summary>Runs the pickle to its STOP opcode and returns the object it built.</summary>
    public object Load()
    {
        while (true)
        {
            var opcodeOffset = input.Offset;
            var opcode = input.ReadByte();
            switch (opcode)
            {
                case 0x80: // PROTO
                    var protocol = input.ReadByte();
                    if (protocol > 5)
                    {
                        throw input.Error($"unsupported pickle protocol {protocol}");
                    }

                    break;
                case 0x95: // FRAME: a length hint only
                    input.ReadInt64();
                    break;
                case 0x2e: // STOP
                    if (stack.Count != 1 || marks.Count != 0)
                    {
                        throw input.Error($"the pickle stops with {stack.Count} values on its stack (corrupted)");
                    }

                    return stack[0];
                case 0x28: // MARK
                    if (marks.Count >= ReaderLimits.MaxMarkDepth)
                    {
                        throw input.Error($"more than {ReaderLimits.MaxMarkDepth} nested MARKs");
                    }

                    marks.Push(stack.Count);
                    break;
                case 0x30: // POP
                    if (marks.Count > 0 && marks.Peek() == stack.Count)
                    {
                        marks.Pop();
                    }
                    else
                    {
                        Pop();
                    }

                    break;
                case 0x31: // POP_MARK
                    PopMark();
                    break;
                case 0x32: // DUP
                    Push(Peek());
                    break;

                case 0x4e: // NONE
                    Push(PyNone.Instance);
                    break;
                case 0x88: // NEWTRUE
                    Push(true);
                    break;
                case 0x89: // NEWFALSE
                    Push(false);
                    break;
                case 0x4a: // BININT
                    Push((long)input.ReadInt32());
                    break;
                case 0x4b: // BININT1
                    Push((long)input.ReadByte());
                    break;
                case 0x4d: // BININT2
                    Push((long)input.ReadUInt16());
                    break;
                case 0x8a: // LONG1
                    Push(ReadLong(input.ReadByte()));
                    break;
                case 0x8b: // LONG4
                    Push(ReadLong(input.ReadInt32()));
                    break;
                case 0x49: // INT (text; also protocol 0's True/False)
                    Push(ParseTextInt(Encoding.ASCII.GetString(input.ReadLine())));
                    break;
                case 0x4c: // LONG (text)
                    Push(ParseTextInt(Encoding.ASCII.GetString(input.ReadLine()).TrimEnd('L')));
                    break;
                case 0x47: // BINFLOAT
                    Push(input.ReadDoubleBigEndian());
                    break;
                case 0x46: // FLOAT (text)
                    Push(ParseTextFloat(Encoding.ASCII.GetString(input.ReadLine())));
                    break;

                case 0x58: // BINUNICODE
                    Push(ReadUtf8(input.ReadUInt32()));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(ReadUtf8(input.ReadByte()));
                    break;
                case 0x8d: // BINUNICODE8
                    Push(ReadUtf8(input.ReadInt64()));
                    break;
                case 0x54: // BINSTRING (Python 2 str, decoded as PyTorch's loader does: UTF-8)
                    Push(ReadUtf8(input.ReadInt32()));
                    break;
                case 0x55: // SHORT_BINSTRING
                    Push(ReadUtf8(input.ReadByte()));
                    break;
                case 0x42: // BINBYTES
                    Push(input.ReadBytes(input.ReadUInt32()));
                    break;
                case 0x43: // SHORT_BINBYTES
                    Push(input.ReadBytes(input.ReadByte()));
                    break;
                case 0x8e: // BINBYTES8
                case 0x96: // BYTEARRAY8
                    Push(input.ReadBytes(input.ReadInt64()));
                    break;

                case 0x29: // EMPTY_TUPLE
                    Push(new PyTuple([]));
                    break;
                case 0x85: // TUPLE1
                    Push(MakeTuple(PopN(1)));
                    break;
                case 0x86: // TUPLE2
                    Push(MakeTuple(PopN(2)));
                    break;
                case 0x87: // TUPLE3
                    Push(MakeTuple(PopN(3)));
                    break;
                case 0x74: // TUPLE
                    Push(MakeTuple(PopMark()));
                    break;
                case 0x5d: // EMPTY_LIST
                    Push(new PyList());
                    break;
                case 0x6c: // LIST
                    Push(AddAll(new PyList(), PopMark()));
                    break;
                case 0x61: // APPEND
                    AddAll(TargetList(Peek(1), "APPEND"), PopN(1));
                    break;
                case 0x65: // APPENDS
                    {
                        var items = PopMark();
                        AddAll(TargetList(Peek(), "APPENDS"), items);
                        break;
                    }

                case 0x8f: // EMPTY_SET
                    Push(new PyList());
                    break;
                case 0x90: // ADDITEMS
                    {
                        var items = PopMark();
                        AddAll(TargetList(Peek(), "ADDITEMS"), items);
                        break;
                    }

                case 0x91: // FROZENSET
                    Push(AddAll(new PyList(), PopMark()));
                    break;
                case 0x7d: // EMPTY_DICT
                    Push(new PyDict());
                    break;
                case 0x64: // DICT
                    Push(SetAll(new PyDict(), PopMark()));
                    break;
                case 0x73: // SETITEM
                    SetAll(TargetDict(Peek(2), "SETITEM"), PopN(2));
                    break;
                case 0x75: // SETITEMS
                    {
                        var items = PopMark();
                        SetAll(TargetDict(Peek(), "SETITEMS"), items);
                        break;
                    }

                case 0x70: // PUT (text)
                    Memoize(ParseTextInt(Encoding.ASCII.GetString(input.ReadLine())));
                    break;
                case 0x71: // BINPUT
                    Memoize(input.ReadByte());
                    break;
                case 0x72: // LONG_BINPUT
                    Memoize(input.ReadUInt32());
                    break;
                case 0x94: // MEMOIZE
                    Memoize(memo.Count);
                    break;
                case 0x67: // GET (text)
                    Push(Recall(ParseTextInt(Encoding.ASCII.GetString(input.ReadLine()))));
                    break;
                case 0x68: // BINGET
                    Push(Recall(input.ReadByte()));
                    break;
                case 0x6a: // LONG_BINGET
                    Push(Recall(input.ReadUInt32()));
                    break;

                case 0x63: // GLOBAL
                    {
                        var module = Encoding.UTF8.GetString(input.ReadLine());
                        var name = Encoding.UTF8.GetString(input.ReadLine());
                        Push(PickleAllowlist.Resolve(module, name, input, opcodeOffset));
                        break;
                    }

                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop();
                        var module = Pop();
                        if (module is not string moduleName || name is not string globalName)
                        {
                            throw input.Error("STACK_GLOBAL needs two strings");
                        }

                        Push(PickleAllowlist.Resolve(moduleName, globalName, input, opcodeOffset));
                        break;
                    }

                case 0x69: // INST: instantiates module.name; the name is checked like any global, then refused
                    {
                        var module = Encoding.UTF8.GetString(input.ReadLine());
                        var name = Encoding.UTF8.GetString(input.ReadLine());
                        var global = PickleAllowlist.Resolve(module, name, input, opcodeOffset);
                        throw input.Error($"INST of '{global}' is not allowed");
                    }

                case 0x52: // REDUCE
                    {
                        var args = Pop();
                        var callable = Pop();
                        Push(PickleCalls.Reduce(callable, AsTuple(args, "REDUCE"), input));
                        break;
                    }

                case 0x81: // NEWOBJ
                    {
                        var args = Pop();
                        var cls = Pop();
                        Push(PickleCalls.NewObject(cls, AsTuple(args, "NEWOBJ"), input));
                        break;
                    }

                case 0x62: // BUILD
                    {
                        Pop(); // the state: ignored, see PickleCalls.Build
                        PickleCalls.Build(Peek(), input);
                        break;
                    }

                case 0x51: // BINPERSID
                    Push(persistentLoad(AsTuple(Pop(), "BINPERSID"), input));
                    break;

                default:
                    throw input.Error(string.Create(CultureInfo.InvariantCulture, $"unsupported pickle opcode 0x{opcode:x2} at pickle offset {opcodeOffset}"));
            }
        }
    }

    private PyTuple AsTuple(object value, string opcode) =>
        value as PyTuple ?? throw input.Error($"{opcode} needs a tuple of arguments, got a {PickleCalls.Describe(value)}");

    private PyTuple MakeTuple(object[] items) => Checked(new PyTuple(items));

    private T Checked<T>(T container)
        where T : PyContainer
    {
        if (container.Depth > ReaderLimits.MaxNesting)
        {
            throw input.Error($"containers nested more than {ReaderLimits.MaxNesting} deep");
        }

        return container;
    }

    private PyList AddAll(PyList list, object[] items)
    {
        if ((long)list.Items.Count + items.Length > ReaderLimits.MaxContainerItems)
        {
            throw input.Error($"a list holds more than {ReaderLimits.MaxContainerItems} items");
        }

        foreach (var item in items)
        {
            list.Add(item);
        }

        return Checked(list);
    }

    private PyDict SetAll(PyDict dict, object[] items)
    {
        if (items.Length % 2 != 0)
        {
            throw input.Error("a dict is built from an odd number of values");
        }

        if ((long)dict.Items.Count + (items.Length / 2) > ReaderLimits.MaxContainerItems)
        {
            throw input.Error($"a dict holds more than {ReaderLimits.MaxContainerItems} items");
        }

        for (var i = 0; i < items.Length; i += 2)
        {
            dict.Set(items[i], items[i + 1]);
        }

        return Checked(dict);
    }

    private PyList TargetList(object target, string opcode) =>
        target as PyList ?? throw input.Error($"{opcode} on a {PickleCalls.Describe(target)}; only lists may be appended to");

    private PyDict TargetDict(object target, string opcode) =>
        target as PyDict ?? throw input.Error($"{opcode} on a {PickleCalls.Describe(target)}; only dicts may have items set");

    private object ReadLong(long length)
    {
        if (length < 0 || length > ReaderLimits.MaxLongBytes)
        {
            throw input.Error($"a Python int of {length} bytes (at most {ReaderLimits.MaxLongBytes} are allowed)");
        }

        var bytes = input.ReadBytes(length);
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : new PyBigInt(value);
    }

    private string ReadUtf8(long length)
    {
        var bytes = input.ReadBytes(length);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw input.Error("a string is not valid UTF-8");
        }
    }

    private long ParseTextInt(string text)
    {
        switch (text)
        {
            case "01":
                return 1;
            case "00":
                return 0;
        }

        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        throw input.Error($"'{Truncate(text)}' is not an integer");
    }

    private double ParseTextFloat(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw input.Error($"'{Truncate(text)}' is not a float");

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";

    private void Memoize(long index)
    {
        if (stack.Count == 0)
        {
            throw input.Error("memo PUT with an empty stack");
        }

        if (index < 0 || (memo.Count >= ReaderLimits.MaxMemoEntries && !memo.ContainsKey(index)))
        {
            throw input.Error($"memo index {index} is invalid or the memo exceeds {ReaderLimits.MaxMemoEntries} entries");
        }

        memo[index] = stack[^1];
    }

    private object Recall(long index) =>
        memo.TryGetValue(index, out var value) ? value : throw input.Error($"memo GET of index {index}, which was never PUT");

    private void Push(object value)
    {
        if (stack.Count >= ReaderLimits.MaxStackDepth)
        {
            throw input.Error($"more than {ReaderLimits.MaxStackDepth} values on the pickle stack");
        }

        stack.Add(value);
    }

    private object Peek(int below = 0)
    {
        var index = stack.Count - 1 - below;
        var floor = marks.Count > 0 ? marks.Peek() : 0;
        if (index < floor)
        {
            throw input.Error("pickle stack underflow (corrupted)");
        }

        return stack[index];
    }

    private object Pop()
    {
        var value = Peek();
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    private object[] PopN(int count)
    {
        Peek(count - 1);
        var items = stack.GetRange(stack.Count - count, count).ToArray();
        stack.RemoveRange(stack.Count - count, count);
        return items;
    }

    private object[] PopMark()
    {
        if (marks.Count == 0)
        {
            throw input.Error("pickle MARK expected but none is open (corrupted)");
        }

        var mark = marks.Pop();
        var items = stack.GetRange(mark, stack.Count - mark).ToArray();
        stack.RemoveRange(mark, stack.Count - mark);
        return items;
    }
}
