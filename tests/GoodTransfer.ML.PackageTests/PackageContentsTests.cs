using System.Xml.Linq;
using GoodTransfer.ML.PackageTests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.PackageTests;

/// <summary>What `dotnet pack` at the repository root writes, read back from the packages.</summary>
[Collection(PackageTestGroup.Name)]
public sealed class PackageContentsTests(PackedRepository packed, ITestOutputHelper output)
{
    public static TheoryData<string> Packages => new() { PackedRepository.CpuPackage, PackedRepository.GpuPackage };

    [Fact]
    public void Pack_at_the_root_writes_the_two_packages_the_Orleans_package_their_symbols_the_tool_and_nothing_else()
    {
        output.WriteLine($"dotnet pack took {packed.Pack.Command.Elapsed.TotalSeconds:F1} s");
        foreach (var file in Directory.GetFiles(packed.Feed))
        {
            output.WriteLine($"{Path.GetFileName(file)}: {new FileInfo(file).Length} bytes");
        }

        Assert.Equal(
            [
                $"GoodTransfer.ML.{packed.Version}.nupkg",
                $"GoodTransfer.ML.{packed.Version}.snupkg",
                $"GoodTransfer.ML.Cli.{packed.Version}.nupkg",
                $"GoodTransfer.ML.Gpu.{packed.Version}.nupkg",
                $"GoodTransfer.ML.Gpu.{packed.Version}.snupkg",
                $"GoodTransfer.ML.Orleans.{packed.Version}.nupkg",
                $"GoodTransfer.ML.Orleans.{packed.Version}.snupkg",
            ],
            Directory.GetFiles(packed.Feed).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_version_is_the_one_in_src_Directory_Build_props()
    {
        Assert.Equal(Repository.VersionPrefix, packed.Version);
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void A_package_holds_both_frameworks_with_XML_docs_its_README_and_the_one_flavour_guard(string id)
    {
        Assert.Equal(
            [
                "README.md",
                $"buildTransitive/{id}.props",
                $"buildTransitive/{id}.targets",
                "lib/net10.0/GoodTransfer.ML.dll",
                "lib/net10.0/GoodTransfer.ML.xml",
                "lib/net8.0/GoodTransfer.ML.dll",
                "lib/net8.0/GoodTransfer.ML.xml",
            ],
            PackedRepository.Entries(packed.PackagePath(id)).Where(e => !IsPackagingPart(e)));
        Assert.Equal(File.ReadAllBytes(Repository.PathOf("nuget/README.md")), packed.ReadEntry(id, "README.md"));
        Assert.Equal(File.ReadAllBytes(Repository.PathOf("src/buildTransitive/OneOnnxRuntime.props")), packed.ReadEntry(id, $"buildTransitive/{id}.props"));
        Assert.Equal(File.ReadAllBytes(Repository.PathOf("src/buildTransitive/OneOnnxRuntime.targets")), packed.ReadEntry(id, $"buildTransitive/{id}.targets"));
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void The_symbol_package_holds_a_portable_PDB_for_each_framework(string id)
    {
        var symbols = packed.PackagePath(id, "snupkg");

        Assert.Equal(["lib/net10.0/GoodTransfer.ML.pdb", "lib/net8.0/GoodTransfer.ML.pdb"], PackedRepository.Entries(symbols).Where(e => !IsPackagingPart(e) && !e.EndsWith(".nuspec", StringComparison.Ordinal)));
        foreach (var framework in new[] { "net8.0", "net10.0" })
        {
            // A portable PDB is an ECMA-335 metadata blob: it starts with the "BSJB" signature.
            Assert.Equal("BSJB"u8.ToArray(), PackedRepository.ReadEntry(symbols, $"lib/{framework}/GoodTransfer.ML.pdb")[..4]);
        }
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void The_nuspec_has_the_licence_readme_links_repository_commit_and_tags(string id)
    {
        var metadata = Metadata(id);
        XNamespace ns = metadata.Name.Namespace;

        Assert.Equal(id, metadata.Element(ns + "id")!.Value);
        Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
        Assert.Equal("expression", metadata.Element(ns + "license")!.Attribute("type")!.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
        Assert.Equal("https://github.com/goodtransfer/GoodTransfer.ML", metadata.Element(ns + "projectUrl")!.Value);
        var repository = metadata.Element(ns + "repository")!;
        Assert.Equal("git", repository.Attribute("type")!.Value);
        Assert.Equal("https://github.com/goodtransfer/GoodTransfer.ML", repository.Attribute("url")!.Value);
        Assert.Equal(Repository.Head, repository.Attribute("commit")!.Value);
        Assert.Contains("ml.net", metadata.Element(ns + "tags")!.Value.Split(' '));
        Assert.Contains("ICLR 2021", metadata.Element(ns + "description")!.Value, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void The_release_notes_are_the_topmost_section_of_the_CHANGELOG(string id)
    {
        var changelog = File.ReadAllText(Repository.PathOf("CHANGELOG.md")).ReplaceLineEndings("\n");
        var heading = changelog.Contains($"\n## [{packed.Version}]", StringComparison.Ordinal) ? $"\n## [{packed.Version}]" : "\n## [Unreleased]";
        var section = changelog[(changelog.IndexOf(heading, StringComparison.Ordinal) + heading.Length)..];
        section = section[(section.IndexOf('\n', StringComparison.Ordinal) + 1)..];
        var end = section.IndexOf("\n## ", StringComparison.Ordinal);
        var expected = (end < 0 ? section : section[..end]).Trim();

        var notes = Metadata(id).Element(Metadata(id).Name.Namespace + "releaseNotes")!.Value;

        Assert.Contains("### Added", expected, StringComparison.Ordinal);
        Assert.Equal(expected, notes.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Each_package_depends_on_its_own_ONNX_Runtime_natives_and_pins_SkiaSharp()
    {
        var cpu = Dependencies(PackedRepository.CpuPackage);
        var gpu = Dependencies(PackedRepository.GpuPackage);

        Assert.Equal("1.31.1", cpu["Microsoft.ML.OnnxRuntime"]);
        Assert.DoesNotContain("Microsoft.ML.OnnxRuntime.Gpu", cpu.Keys);
        Assert.Equal("1.31.0", gpu["Microsoft.ML.OnnxRuntime.Gpu"]);
        Assert.Equal("1.31.0", gpu["Microsoft.ML.OnnxRuntime.Managed"]);
        Assert.DoesNotContain("Microsoft.ML.OnnxRuntime", gpu.Keys);

        // ML.NET's image package asks for SkiaSharp 2.88.8, which the registry no longer serves; the repository
        // pins 2.88.9 (Directory.Packages.props), and a consumer can restore only because the packages say so too.
        foreach (var dependencies in new[] { cpu, gpu })
        {
            Assert.Equal("2.88.9", dependencies["SkiaSharp"]);
            Assert.Equal("2.88.9", dependencies["SkiaSharp.NativeAssets.Linux.NoDependencies"]);
        }
    }

    private static bool IsPackagingPart(string entry) =>
        entry.StartsWith("_rels/", StringComparison.Ordinal) || entry.StartsWith("package/", StringComparison.Ordinal) ||
        entry == "[Content_Types].xml" || entry.EndsWith(".nuspec", StringComparison.Ordinal);

    private XElement Metadata(string id)
    {
        using var bytes = new MemoryStream(packed.ReadEntry(id, $"{id}.nuspec"));
        var nuspec = XDocument.Load(bytes);
        return nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    /// <summary>The net10.0 group's dependencies, id to version (the net8.0 group is the same).</summary>
    private Dictionary<string, string> Dependencies(string id)
    {
        var metadata = Metadata(id);
        var groups = metadata.Descendants(metadata.Name.Namespace + "group").ToList();
        var byFramework = groups.ToDictionary(
            g => g.Attribute("targetFramework")!.Value,
            g => g.Elements().ToDictionary(d => d.Attribute("id")!.Value, d => d.Attribute("version")!.Value));

        Assert.Equal(["net10.0", "net8.0"], byFramework.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(byFramework["net8.0"], byFramework["net10.0"]);
        return byFramework["net10.0"];
    }
}
