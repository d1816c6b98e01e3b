using System.Security.Cryptography;
using GoodTransfer.ML.PackageTests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.PackageTests;

/// <summary>
/// The build is reproducible: packing the same commit in another folder, in CI mode (ContinuousIntegrationBuild,
/// as CI packs), gives the same assemblies and PDBs byte for byte. The .nupkg files themselves differ (NuGet
/// stamps zip entries with the time of packing), so the files inside them are compared. GoodTransfer.ML is
/// packed again, not GoodTransfer.ML.Gpu: the GPU package compiles the same sources with the same settings,
/// and a second build of it would add a minute of CI for no new information.
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed class DeterministicPackTests(PackedRepository packed, ITestOutputHelper output)
{
    [Fact]
    public async Task Packing_again_in_another_folder_gives_identical_assemblies_and_PDBs()
    {
        var again = await packed.SecondPack;
        output.WriteLine($"second dotnet pack took {again.Command.Elapsed.TotalSeconds:F1} s");

        const string id = PackedRepository.CpuPackage;
        foreach (var framework in new[] { "net8.0", "net10.0" })
        {
            foreach (var (extension, entry) in new[] { ("nupkg", $"lib/{framework}/GoodTransfer.ML.dll"), ("snupkg", $"lib/{framework}/GoodTransfer.ML.pdb") })
            {
                var first = packed.ReadEntry(id, entry, extension);
                var second = PackedRepository.ReadEntry(Path.Combine(again.Feed, $"{id}.{packed.Version}.{extension}"), entry);
                output.WriteLine($"{id} {entry}: {Convert.ToHexString(SHA256.HashData(first))[..16]} and {Convert.ToHexString(SHA256.HashData(second))[..16]}");
                Assert.True(first.AsSpan().SequenceEqual(second), $"{id}'s {entry} differs between the two packs ({first.Length} and {second.Length} bytes).");
            }
        }

        Assert.Equal([$"{id}.{packed.Version}.nupkg", $"{id}.{packed.Version}.snupkg"], Directory.GetFiles(again.Feed).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
