using System.Diagnostics;
using GoodTransfer.ML.PackageTests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.PackageTests;

/// <summary>
/// The fresh projects get GoodTransfer.* from the local feed that the packing wrote, and from nowhere else: a
/// machine that packed the repository before and restored a project with it keeps a GoodTransfer.ML of the same
/// version in its global packages folder, which the fresh projects used to take instead of the new one.
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed class StalePackageTests(PackedRepository packed, ITestOutputHelper output)
{
    private const string StaleLabel = "(stale, packed on this machine before)";

    [Fact]
    public void A_stale_GoodTransfer_ML_of_the_same_version_in_the_machine_packages_folder_is_not_restored()
    {
        var clock = Stopwatch.StartNew();
        var machine = MachinePackagesWithAStaleGoodTransferMl();
        output.WriteLine($"stale package packed and restored: {clock.Elapsed.TotalSeconds:F1} s");
        var stale = Path.Combine(machine, "goodtransfer.ml", packed.Version, "lib", "net10.0", "GoodTransfer.ML.dll");
        Assert.Equal($"{packed.Version} {StaleLabel}", FileVersionInfo.GetVersionInfo(stale).ProductVersion);

        var project = FreshProject.Create(packed, "StaleMachinePackages", machine);
        project.AddPackage(PackedRepository.CpuPackage, packed.Version);
        var build = project.Build().Succeeded();
        output.WriteLine($"restore and build: {build.Elapsed.TotalSeconds:F1} s");

        Assert.DoesNotContain(StaleLabel, FileVersionInfo.GetVersionInfo(project.OutputPath("GoodTransfer.ML.dll")).ProductVersion, StringComparison.Ordinal);
        Assert.Equal(packed.ReadEntry(PackedRepository.CpuPackage, "lib/net10.0/GoodTransfer.ML.dll"), File.ReadAllBytes(project.OutputPath("GoodTransfer.ML.dll")));
        Assert.True(File.Exists(project.OutputPath("runtimes/linux-x64/native/libonnxruntime.so")));
        // The local feed's package is the one that restore extracted, and no other GoodTransfer.* was.
        var extracted = Directory.GetDirectories(project.PackagesFolder)
            .SelectMany(id => Directory.GetDirectories(id).Select(version => (Id: Path.GetFileName(id), Version: Path.GetFileName(version))))
            .ToList();
        output.WriteLine("extracted into the project's packages folder: " + string.Join(", ", extracted.Select(p => $"{p.Id} {p.Version}")));
        Assert.Equal([("goodtransfer.ml", packed.Version)], extracted.Where(p => p.Id.StartsWith("goodtransfer.", StringComparison.Ordinal)));
        // Nothing the machine's folder has was downloaded again (NuGet also fetches lower versions that it reads
        // while it walks the graph, such as the ONNX Runtime that ML.NET asks for, when the machine lacks them).
        Assert.DoesNotContain(extracted, p => Directory.Exists(Path.Combine(FreshProject.MachinePackages, p.Id, p.Version)) && !p.Id.StartsWith("goodtransfer.", StringComparison.Ordinal));
    }

    /// <summary>
    /// A global packages folder as such a machine has it: this machine's packages (links to them, so nothing is
    /// downloaded), and a GoodTransfer.ML of the packed version that another library, with another informational
    /// version, was packed as, restored into it by NuGet.
    /// </summary>
    private string MachinePackagesWithAStaleGoodTransferMl()
    {
        var machine = packed.NewFolder("machine-packages-with-a-stale-GoodTransfer.ML");
        if (Directory.Exists(FreshProject.MachinePackages))
        {
            foreach (var package in Directory.EnumerateDirectories(FreshProject.MachinePackages))
            {
                if (!Path.GetFileName(package).StartsWith("goodtransfer.", StringComparison.OrdinalIgnoreCase))
                {
                    Directory.CreateSymbolicLink(Path.Combine(machine, Path.GetFileName(package)), package);
                }
            }
        }

        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = machine };
        var library = packed.NewFolder("stale-GoodTransfer.ML");
        File.WriteAllText(Path.Combine(library, "GoodTransfer.ML.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Version>{packed.Version}</Version>
                <InformationalVersion>{packed.Version} {StaleLabel}</InformationalVersion>
              </PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(library, "Stale.cs"), "namespace GoodTransfer.ML;\n\npublic static class Stale\n{\n}\n");
        var feed = packed.NewFolder("stale-feed");
        Command.Dotnet(library, environment, "pack", "-c", "Release", "-o", feed).Succeeded();

        var consumer = packed.NewFolder("stale-consumer");
        File.WriteAllText(Path.Combine(consumer, "NuGet.config"), $"""
            <configuration>
              <packageSources>
                <clear />
                <add key="stale" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(consumer, "StaleConsumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{PackedRepository.CpuPackage}" Version="{packed.Version}" />
              </ItemGroup>
            </Project>
            """);
        Command.Dotnet(consumer, environment, "restore").Succeeded();
        return machine;
    }
}
