using System.Xml.Linq;
using GoodTransfer.ML.PackageTests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.PackageTests;

/// <summary>
/// The goodtransfer tool as a user installs it: `dotnet tool install --tool-path` of GoodTransfer.ML.Cli from
/// the local feed only (a tool package carries all it needs), into an empty packages folder, then run.
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed class ToolPackageTests(PackedRepository packed, ITestOutputHelper output)
{
    [Fact]
    public void The_tool_installs_from_the_local_feed_alone_and_lists_the_24_backbones()
    {
        var root = packed.NewFolder("tool-install");
        var config = Path.Combine(root, "NuGet.config");
        new XDocument(new XElement(
            "configuration",
            new XElement("packageSources", new XElement("clear"), new XElement("add", new XAttribute("key", "goodtransfer-local"), new XAttribute("value", packed.Feed))))).Save(config);
        var tools = Path.Combine(root, "tools");
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(root, "packages") };

        var install = Command.Dotnet(root, environment, "tool", "install", PackedRepository.CliPackage, "--version", packed.Version, "--tool-path", tools, "--configfile", config).Succeeded();
        output.WriteLine(install.Output);

        Assert.Contains($"'{PackedRepository.CliPackage.ToLowerInvariant()}' (version '{packed.Version}')", install.Output.ToLowerInvariant(), StringComparison.Ordinal);
        var cache = Path.Combine(root, "cache");
        var list = Command.Run(Path.Combine(tools, "goodtransfer"), ["list"], root, new Dictionary<string, string> { ["GOODTRANSFER_HOME"] = cache }, TimeSpan.FromMinutes(2)).Succeeded();
        output.WriteLine(list.Output);
        var rows = list.Output.Split('\n').Where(l => l.StartsWith("│ ", StringComparison.Ordinal) && !l.StartsWith("│ name ", StringComparison.Ordinal)).ToList();
        Assert.Equal(24, rows.Count);
        Assert.Contains(rows, r => r.StartsWith("│ MocoV2ImageNet ", StringComparison.Ordinal));
        Assert.Contains($"0 of 24 checkpoints cached in {Path.Combine(cache, "checkpoints")}", list.Output, StringComparison.Ordinal);

        var version = Command.Run(Path.Combine(tools, "goodtransfer"), ["--version"], root, null, TimeSpan.FromMinutes(1)).Succeeded();
        Assert.StartsWith(packed.Version, version.Output.Trim(), StringComparison.Ordinal);
    }
}
