using System.Buffers.Binary;
using System.Text;

namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// A read-only view of a zip archive as PyTorch writes it: every entry stored (method 0), under
/// one root folder. Reads the central directory (Zip64 included), then each local header to find
/// where an entry's data starts, so data descriptors and alignment padding in the extra field are
/// handled. Never decompresses; a compressed entry is refused.
/// </summary>
internal sealed class ZipContainer
{
    private const uint LocalHeaderSignature = 0x04034b50;
    private const uint CentralHeaderSignature = 0x02014b50;
    private const uint EndOfCentralDirectorySignature = 0x06054b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const int EndOfCentralDirectorySize = 22;
    private const int MaxCommentSize = 0xFFFF;

    private readonly Dictionary<string, ZipEntry> entries;

    private ZipContainer(Dictionary<string, ZipEntry> entries, string root)
    {
        this.entries = entries;
        Root = root;
    }

    /// <summary>The root folder of the archive, with its trailing slash ("archive/").</summary>
    public string Root { get; }

    public static ZipContainer Open(CheckpointSource source)
    {
        var (cdOffset, cdSize, count) = FindCentralDirectory(source);
        if (count > ReaderLimits.MaxZipEntries)
        {
            throw source.Error($"the zip central directory declares {count} entries (more than {ReaderLimits.MaxZipEntries})", "zip central directory");
        }

        if (cdOffset < 0 || cdSize < 0 || cdOffset > source.Length || cdSize > source.Length - cdOffset)
        {
            throw source.Error("the zip central directory lies outside the file (truncated or corrupted)", "zip central directory", cdOffset);
        }

        if (cdSize > Array.MaxLength)
        {
            throw source.Error($"the zip central directory is {cdSize} bytes (at most {Array.MaxLength})", "zip central directory", cdOffset);
        }

        var directory = source.ReadBytes(cdOffset, (int)cdSize, "zip central directory");
        var entries = new Dictionary<string, ZipEntry>(StringComparer.Ordinal);
        string? root = null;
        var position = 0;
        for (long i = 0; i < count; i++)
        {
            var entry = ReadCentralEntry(source, directory, ref position, cdOffset);
            root ??= RootOf(entry.Name, source);
            if (!entry.Name.StartsWith(root, StringComparison.Ordinal))
            {
                throw source.Error($"zip entry '{entry.Name}' is outside the root folder '{root}'", "zip central directory");
            }

            if (!entries.TryAdd(entry.Name[root.Length..], entry))
            {
                throw source.Error($"zip entry '{entry.Name}' appears twice", "zip central directory");
            }
        }

        if (root is null)
        {
            throw source.Error("the zip archive is empty", "zip central directory");
        }

        return new ZipContainer(entries, root);
    }

    /// <summary>Finds an entry by its name below the root folder ("data.pkl", "data/0").</summary>
    public ZipEntry? Find(string relativeName) => entries.GetValueOrDefault(relativeName);

    /// <summary>Resolves where an entry's bytes start by reading its local header.</summary>
    public static long DataOffset(CheckpointSource source, ZipEntry entry)
    {
        Span<byte> header = stackalloc byte[30];
        source.Read(entry.LocalHeaderOffset, header, entry.Name);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LocalHeaderSignature)
        {
            throw source.Error("bad local header signature", entry.Name, entry.LocalHeaderOffset);
        }

        var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[26..]);
        var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
        var dataOffset = entry.LocalHeaderOffset + 30 + nameLength + extraLength;
        if (dataOffset > source.Length || entry.Size > source.Length - dataOffset)
        {
            throw source.Error($"entry data ({entry.Size} bytes at offset {dataOffset}) runs past the end of the file (truncated)", entry.Name, dataOffset);
        }

        return dataOffset;
    }

    private static string RootOf(string name, CheckpointSource source)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            throw source.Error($"zip entry '{name}' is not inside a root folder, so this is not a PyTorch checkpoint archive", "zip central directory");
        }

        return name[..(slash + 1)];
    }

    private static (long Offset, long Size, long Count) FindCentralDirectory(CheckpointSource source)
    {
        if (source.Length < EndOfCentralDirectorySize)
        {
            throw source.Error("the file is too short to be a zip archive (truncated)", "zip end of central directory");
        }

        var tailLength = (int)Math.Min(source.Length, EndOfCentralDirectorySize + MaxCommentSize);
        var tailStart = source.Length - tailLength;
        var tail = source.ReadBytes(tailStart, tailLength, "zip end of central directory");
        for (var i = tailLength - EndOfCentralDirectorySize; i >= 0; i--)
        {
            var record = tail.AsSpan(i);
            if (BinaryPrimitives.ReadUInt32LittleEndian(record) != EndOfCentralDirectorySignature)
            {
                continue;
            }

            var commentLength = BinaryPrimitives.ReadUInt16LittleEndian(record[20..]);
            if (i + EndOfCentralDirectorySize + commentLength != tailLength)
            {
                continue;
            }

            long count = BinaryPrimitives.ReadUInt16LittleEndian(record[10..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(record[12..]);
            long offset = BinaryPrimitives.ReadUInt32LittleEndian(record[16..]);
            if (count == 0xFFFF || size == 0xFFFFFFFF || offset == 0xFFFFFFFF)
            {
                return ReadZip64End(source, tailStart + i);
            }

            return (offset, size, count);
        }

        throw source.Error("no zip end-of-central-directory record (the file is truncated or not a zip archive)", "zip end of central directory");
    }

    private static (long Offset, long Size, long Count) ReadZip64End(CheckpointSource source, long eocdPosition)
    {
        var locatorPosition = eocdPosition - 20;
        if (locatorPosition < 0)
        {
            throw source.Error("missing Zip64 end-of-central-directory locator", "zip64 locator");
        }

        Span<byte> locator = stackalloc byte[20];
        source.Read(locatorPosition, locator, "zip64 locator");
        if (BinaryPrimitives.ReadUInt32LittleEndian(locator) != Zip64LocatorSignature)
        {
            throw source.Error("missing Zip64 end-of-central-directory locator", "zip64 locator", locatorPosition);
        }

        var recordPosition = BinaryPrimitives.ReadInt64LittleEndian(locator[8..]);
        if (recordPosition < 0 || recordPosition > source.Length - 56)
        {
            throw source.Error("the Zip64 end-of-central-directory record lies outside the file", "zip64 end of central directory", recordPosition);
        }

        Span<byte> record = stackalloc byte[56];
        source.Read(recordPosition, record, "zip64 end of central directory");
        if (BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndSignature)
        {
            throw source.Error("bad Zip64 end-of-central-directory signature", "zip64 end of central directory", recordPosition);
        }

        var count = BinaryPrimitives.ReadInt64LittleEndian(record[32..]);
        var size = BinaryPrimitives.ReadInt64LittleEndian(record[40..]);
        var offset = BinaryPrimitives.ReadInt64LittleEndian(record[48..]);
        if (count < 0 || size < 0 || offset < 0)
        {
            throw source.Error("the Zip64 end-of-central-directory record holds impossible values", "zip64 end of central directory", recordPosition);
        }

        return (offset, size, count);
    }

    private static ZipEntry ReadCentralEntry(CheckpointSource source, byte[] directory, ref int position, long cdOffset)
    {
        const int FixedSize = 46;
        if (directory.Length - position < FixedSize)
        {
            throw source.Error("the zip central directory ends in the middle of an entry", "zip central directory", cdOffset + position);
        }

        var header = directory.AsSpan(position, FixedSize);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != CentralHeaderSignature)
        {
            throw source.Error("bad central directory entry signature", "zip central directory", cdOffset + position);
        }

        var flags = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        var method = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
        long compressedSize = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        long size = BinaryPrimitives.ReadUInt32LittleEndian(header[24..]);
        var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
        var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[30..]);
        var commentLength = BinaryPrimitives.ReadUInt16LittleEndian(header[32..]);
        long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(header[42..]);
        var variableLength = nameLength + extraLength + commentLength;
        if (directory.Length - position - FixedSize < variableLength)
        {
            throw source.Error("the zip central directory ends in the middle of an entry name", "zip central directory", cdOffset + position);
        }

        var name = Encoding.UTF8.GetString(directory, position + FixedSize, nameLength);
        var extra = directory.AsSpan(position + FixedSize + nameLength, extraLength);
        ApplyZip64Extra(source, name, extra, ref size, ref compressedSize, ref localOffset);
        position += FixedSize + variableLength;

        if ((flags & 1) != 0)
        {
            throw source.Error("the entry is encrypted", name);
        }

        if (method != 0)
        {
            throw source.Error($"the entry is compressed (method {method}); PyTorch stores checkpoint entries uncompressed", name);
        }

        if (compressedSize != size)
        {
            throw source.Error($"stored entry declares {compressedSize} compressed but {size} uncompressed bytes", name);
        }

        if (localOffset < 0 || localOffset > source.Length - 30)
        {
            throw source.Error("the entry's local header lies outside the file", name, localOffset);
        }

        return new ZipEntry(name, localOffset, size);
    }

    private static void ApplyZip64Extra(CheckpointSource source, string name, ReadOnlySpan<byte> extra, ref long size, ref long compressedSize, ref long localOffset)
    {
        while (extra.Length >= 4)
        {
            var id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            var length = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (length > extra.Length - 4)
            {
                throw source.Error("a zip extra field runs past its header", name);
            }

            if (id == 0x0001)
            {
                // The Zip64 field holds, in this order, only the values whose 32-bit slot is 0xFFFFFFFF.
                var field = extra.Slice(4, length);
                size = TakeZip64(source, name, ref field, size);
                compressedSize = TakeZip64(source, name, ref field, compressedSize);
                localOffset = TakeZip64(source, name, ref field, localOffset);
            }

            extra = extra[(4 + length)..];
        }
    }

    private static long TakeZip64(CheckpointSource source, string name, ref ReadOnlySpan<byte> field, long value)
    {
        if (value != 0xFFFFFFFF)
        {
            return value;
        }

        if (field.Length < 8)
        {
            throw source.Error("a Zip64 extra field is too short", name);
        }

        var wide = BinaryPrimitives.ReadInt64LittleEndian(field);
        field = field[8..];
        if (wide < 0)
        {
            throw source.Error("a Zip64 extra field holds a negative size or offset", name);
        }

        return wide;
    }
}

/// <summary>One stored entry of a zip archive: its full name, where its local header is, and its size.</summary>
internal sealed record ZipEntry(string Name, long LocalHeaderOffset, long Size);
