using System.Text;

namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// Reads a PyTorch checkpoint file (zip format, or the legacy format of PyTorch before 1.6) into a
/// normalised <see cref="StateDict"/>, without Python and without running anything the file names.
/// </summary>
/// <remarks>
/// This is the reader's boundary. Every check a malformed file can fail (a truncated file, an
/// impossible index or size, a value of the wrong type) throws a <see cref="CheckpointFormatException"/>
/// where it happens, naming the file, the entry and the offset; sizes are bounded before anything is
/// allocated. Here only <see cref="OverflowException"/> from the checked arithmetic on the file's
/// sizes and offsets becomes one too. Any other exception is a bug in the reader and surfaces as
/// itself, not as a corrupted file. A file that does not exist or cannot be opened keeps its
/// ordinary <see cref="IOException"/>.
/// </remarks>
internal static class CheckpointReader
{
    private static readonly byte[] ZipMagic = [0x50, 0x4b, 0x03, 0x04];
    private static readonly byte[] EmptyZipMagic = [0x50, 0x4b, 0x05, 0x06];

    public static StateDict Read(string path)
    {
        using var source = new CheckpointSource(path);
        try
        {
            return ReadFrom(source);
        }
        catch (OverflowException e)
        {
            // TensorRef.ElementCount and TensorMaterializer combine the file's sizes, strides and offsets with checked arithmetic.
            throw new CheckpointFormatException(path, $"the file is corrupted: its sizes or offsets overflow 64 bits ({e.Message})", innerException: e);
        }
    }

    private static StateDict ReadFrom(CheckpointSource source)
    {
        var head = source.ReadBytes(0, (int)Math.Min(source.Length, 512), "file header");
        if (head.Length == 0)
        {
            throw source.Error("the file is empty");
        }

        if (head.AsSpan().StartsWith(ZipMagic) || head.AsSpan().StartsWith(EmptyZipMagic))
        {
            return ReadZip(source);
        }

        if (head.Length >= 262 && Encoding.ASCII.GetString(head, 257, 5) == "ustar")
        {
            throw source.Error("this is PyTorch's old tar checkpoint format (before PyTorch 0.4), which is not supported; load it in PyTorch and save it again with torch.save(model.state_dict(), path)");
        }

        if (head[0] == 0x80)
        {
            return LegacyCheckpoint.Read(source);
        }

        throw source.Error(DescribeUnknownHeader(head), "file header", 0);
    }

    private static string DescribeUnknownHeader(byte[] head)
    {
        var text = Encoding.ASCII.GetString(head, 0, Math.Min(head.Length, 64)).TrimStart().ToUpperInvariant();
        if (text.StartsWith("<!DOCTYPE HTML", StringComparison.Ordinal) || text.StartsWith("<HTML", StringComparison.Ordinal) || text.StartsWith("<?XML", StringComparison.Ordinal))
        {
            return "this is an HTML or XML page (an error or login page served in place of the file?), not a PyTorch checkpoint";
        }

        var hex = Convert.ToHexString(head, 0, Math.Min(head.Length, 8));
        return $"not a PyTorch checkpoint: it starts with bytes {hex}, neither a zip archive nor a pickle";
    }

    private static StateDict ReadZip(CheckpointSource source)
    {
        var zip = ZipContainer.Open(source);
        var pickleEntry = zip.Find("data.pkl")
            ?? throw source.Error($"the zip archive has no '{zip.Root}data.pkl' entry, so it is not a PyTorch checkpoint");
        if (pickleEntry.Size > ReaderLimits.MaxPickleBytes)
        {
            throw source.Error($"data.pkl is {pickleEntry.Size} bytes (at most {ReaderLimits.MaxPickleBytes})", pickleEntry.Name);
        }

        var bigEndian = ReadByteOrder(source, zip);
        var pickleStart = ZipContainer.DataOffset(source, pickleEntry);
        var input = new PickleInput(source, pickleStart, pickleStart + pickleEntry.Size, pickleEntry.Name);
        // The zip format's persistent id is ('storage', storage_type, key, location, numel).
        var storages = new StorageTable();
        var root = new SafeUnpickler(input, (pid, at) => storages.Parse(pid, 5, at)).Load();

        var located = StateDictLocator.Locate(root, source.Path);
        var tensors = TensorMaterializer.ReadAll(source, located, bigEndian, kept => StorageEntry(source, zip, kept));
        return new StateDict(source.Path, CheckpointContainer.Zip, located.Layout, tensors, located.Ignored);
    }

    /// <summary>A zip file keeps each storage in its own entry, data/&lt;key&gt;, of exactly the storage's size.</summary>
    private static StorageSpan StorageEntry(CheckpointSource source, ZipContainer zip, LocatedTensor kept)
    {
        var storage = kept.Tensor.Storage;
        var entry = zip.Find("data/" + storage.Key)
            ?? throw source.Error($"storage '{storage.Key}' of tensor '{kept.OriginalKey}' has no entry '{zip.Root}data/{storage.Key}' in the archive");
        if (storage.ElementCount > entry.Size / storage.ElementSize || storage.ElementCount * storage.ElementSize != entry.Size)
        {
            throw source.Error($"storage '{storage.Key}' is declared as {storage.ElementCount} elements of {storage.ElementSize} bytes but its entry holds {entry.Size} bytes", entry.Name);
        }

        return new StorageSpan(ZipContainer.DataOffset(source, entry), entry.Size);
    }

    private static bool ReadByteOrder(CheckpointSource source, ZipContainer zip)
    {
        var entry = zip.Find("byteorder");
        if (entry is null)
        {
            return false;
        }

        if (entry.Size > 16)
        {
            throw source.Error("the byteorder record is too long", entry.Name);
        }

        var text = Encoding.ASCII.GetString(source.ReadBytes(ZipContainer.DataOffset(source, entry), (int)entry.Size, entry.Name)).Trim();
        return text switch
        {
            "little" => false,
            "big" => true,
            _ => throw source.Error($"unknown byte order '{text}'", entry.Name),
        };
    }
}
