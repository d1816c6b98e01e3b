using System.IO.Compression;
using System.Text.RegularExpressions;

namespace GoodTransfer.ML.PackageTests.Support;

/// <summary>
/// The repository packed once for all package tests: `dotnet pack` at the root of a clone, in CI mode
/// (ContinuousIntegrationBuild, so paths in the binaries are the clone-independent /_/), written to a folder
/// that serves as the local feed. Packing in a clone keeps the repository's own bin/ and obj/, which the other
/// test assembly uses while this one runs, untouched. A second clone, in a folder of another name, packs
/// GoodTransfer.ML again in the background while the fresh-project tests run; DeterministicPackTests compares.
/// </summary>
public sealed partial class PackedRepository : IDisposable
{
    public const string CpuPackage = "GoodTransfer.ML";
    public const string GpuPackage = "GoodTransfer.ML.Gpu";

    /// <summary>The goodtransfer command-line tool, a .NET tool package.</summary>
    public const string CliPackage = "GoodTransfer.ML.Cli";

    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("goodtransfer-packages-");

    public PackedRepository()
    {
        Pack = PackClone("a", project: null);
        Feed = Pack.Feed;
        var cpu = Directory.GetFiles(Feed, $"{CpuPackage}.*.nupkg").Select(Path.GetFileName).Single(name => CpuVersion().IsMatch(name!))!;
        Version = CpuVersion().Match(cpu).Groups[1].Value;
        SecondPack = Task.Run(() => PackClone("b-in-a-folder-with-a-longer-name", "src/GoodTransfer.ML/GoodTransfer.ML.csproj"));
    }

    /// <summary>`dotnet pack` of GoodTransfer.ML in a second clone at another path, under way or done.</summary>
    public Task<PackResult> SecondPack { get; }

    /// <summary>The pack that made <see cref="Feed"/>, with its command's output and time.</summary>
    public PackResult Pack { get; }

    /// <summary>A folder holding the packages (.nupkg and .snupkg) that `dotnet pack` wrote, and nothing else.</summary>
    public string Feed { get; }

    /// <summary>The packages' version.</summary>
    public string Version { get; }

    /// <summary>A fresh folder under this fixture's temporary folder, deleted with it.</summary>
    public string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(work.FullName, name)).FullName;

    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    /// <summary>The bytes of one file inside a package.</summary>
    public byte[] ReadEntry(string id, string entry, string extension = "nupkg") => ReadEntry(PackagePath(id, extension), entry);

    public static byte[] ReadEntry(string package, string entry)
    {
        using var zip = ZipFile.OpenRead(package);
        var found = zip.GetEntry(entry) ?? throw new FileNotFoundException($"{Path.GetFileName(package)} has no {entry}.");
        using var stream = found.Open();
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    public static IReadOnlyList<string> Entries(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        return [.. zip.Entries.Select(e => e.FullName).Order(StringComparer.Ordinal)];
    }

    public void Dispose()
    {
        // The second pack writes into the folder about to be deleted; its failure, if any, is DeterministicPackTests' to report.
        ((IAsyncResult)SecondPack).AsyncWaitHandle.WaitOne();
        work.Delete(recursive: true);
    }

    /// <summary>
    /// Clones the working tree into a folder named <paramref name="name"/> and packs <paramref name="project"/> there
    /// (the solution at the root when null), in CI mode.
    /// </summary>
    private PackResult PackClone(string name, string? project)
    {
        var clone = Path.Combine(work.FullName, name);
        Repository.CloneWorkingTree(clone);
        var feed = NewFolder(name + "-feed");
        string[] pack = ["pack", .. project is null ? Array.Empty<string>() : [project], "-c", "Release", "-p:ContinuousIntegrationBuild=true", $"-p:PackageOutputPath={feed}"];
        var result = Command.Dotnet(clone, pack).Succeeded();
        return new PackResult(clone, feed, result);
    }

    [GeneratedRegex(@"^GoodTransfer\.ML\.(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\.nupkg$")]
    private static partial Regex CpuVersion();
}

/// <summary>One `dotnet pack` of a clone: where the clone is, where the packages went, what pack printed.</summary>
public sealed record PackResult(string Folder, string Feed, CommandResult Command);

[CollectionDefinition(Name)]
public sealed class PackageTestGroup : ICollectionFixture<PackedRepository>
{
    /// <summary>The package tests run one after another: each one builds or runs something big on few cores.</summary>
    public const string Name = "Packages";
}
