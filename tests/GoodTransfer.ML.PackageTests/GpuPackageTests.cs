using System.Globalization;
using GoodTransfer.ML.PackageTests.Support;
using GoodTransfer.ML.Tests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.PackageTests;

/// <summary>
/// A new user of GoodTransfer.ML.Gpu: a fresh console project that references only that package restores, builds
/// with ONNX Runtime's CUDA natives, and featurizes photos (FreshProjects/Featurize/Program.cs) on the CPU, with
/// GpuDeviceId = 0 and fallback (float32 and float16), and with GpuDeviceId = 0 and no fallback.
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed class GpuPackageTests(PackedRepository packed, ITestOutputHelper output)
{
    [Fact]
    public void A_fresh_console_project_with_only_GoodTransfer_ML_Gpu_featurizes_and_without_CUDA_falls_back_or_fails_clearly()
    {
        var project = FreshProject.Create(packed, "GpuConsole");
        project.AddPackage(PackedRepository.GpuPackage, packed.Version);
        project.WriteFile("Program.cs", File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "FreshProjects", "Featurize", "Program.cs")));
        var build = project.Build().Succeeded();
        output.WriteLine($"restore and build: {build.Elapsed.TotalSeconds:F1} s");

        Assert.Equal(packed.ReadEntry(PackedRepository.GpuPackage, "lib/net10.0/GoodTransfer.ML.dll"), File.ReadAllBytes(project.OutputPath("GoodTransfer.ML.dll")));
        Assert.True(File.Exists(project.OutputPath("runtimes/linux-x64/native/libonnxruntime_providers_cuda.so")));

        using var server = new CheckpointServer();
        server.Add("moco_v2_imagenet.pth", File.ReadAllBytes(MainTestFixtures.FeatureCheckpoint));
        var photos = MainTestFixtures.Photos(3);
        var result = project.Run(
            project.Folder,
            new Dictionary<string, string> { ["GOODTRANSFER_HOME"] = packed.NewFolder("gpu-cache"), ["GOODTRANSFER_MIRROR"] = server.BaseUrl },
            [.. photos.Select(p => p.Image)]).Succeeded();
        output.WriteLine($"run: {result.Elapsed.TotalSeconds:F1} s\n{result.Output}");

        var cpu = Features(result.Output, "cpu");
        Assert.Equal(photos.Select(p => Path.GetFileName(p.Image)), cpu.Keys);
        foreach (var (image, reference) in photos)
        {
            var cosine = Similarity.Cosine(cpu[Path.GetFileName(image)], reference);
            Assert.True(cosine >= 0.999, $"{Path.GetFileName(image)}: cosine {cosine} with PyTorch's features");
        }

        var strictError = result.Output.Split('\n').SingleOrDefault(line => line.StartsWith("gpu-strict error ", StringComparison.Ordinal));
        var fp16 = Features(result.Output, "gpu-fp16");
        Assert.Equal(cpu.Keys, fp16.Keys);
        foreach (var (image, features) in fp16)
        {
            var cosine = Similarity.Cosine(features, cpu[image]);
            Assert.True(cosine >= 0.999, $"float16 {image}: cosine {cosine} with the CPU's float32 features");
        }

        if (strictError is not null)
        {
            var fallback = Features(result.Output, "gpu-fallback");
            Assert.Equal(cpu.Keys, fallback.Keys);
            Assert.All(cpu, pair => Assert.Equal(pair.Value, fallback[pair.Key]));
            Assert.Contains("gpu-fallback device cpu", result.Output, StringComparison.Ordinal);
            Assert.Contains("gpu-fp16 device cpu", result.Output, StringComparison.Ordinal);
            Assert.Contains("log warning CUDA device 0 cannot be used, so the featurizer runs on the CPU (FallbackToCpu = true): ", result.Output, StringComparison.Ordinal);
            Assert.Contains("(GoodTransfer.ML.Gpu package)", result.Output, StringComparison.Ordinal);
            Assert.StartsWith("gpu-strict error GoodTransfer.ML.GpuUnavailableException: CUDA device 0 was asked for (GpuDeviceId = 0, FallbackToCpu = false) but ONNX Runtime's CUDA execution provider cannot be used: ", strictError, StringComparison.Ordinal);
            Assert.Contains("This is the GoodTransfer.ML.Gpu package: check that the NVIDIA driver, CUDA 13", strictError, StringComparison.Ordinal);
        }
        else
        {
            // CUDA ran the network: only possible where the machine has an NVIDIA GPU.
            Assert.True(Directory.GetFiles("/dev", "nvidia*").Length > 0, "Without an NVIDIA device, GpuDeviceId = 0 with FallbackToCpu = false must fail.");
            Assert.Contains("gpu-strict device 0", result.Output, StringComparison.Ordinal);
            foreach (var run in new[] { "gpu-fallback", "gpu-strict" })
            {
                foreach (var (image, features) in Features(result.Output, run))
                {
                    var cosine = Similarity.Cosine(features, cpu[image]);
                    Assert.True(cosine >= 0.999, $"{run} {image}: cosine {cosine} with the CPU's features");
                }
            }
        }
    }

    /// <summary>The lines "<paramref name="run"/> file count f1,f2,..." of the program's output, by file.</summary>
    private static Dictionary<string, float[]> Features(string output, string run) =>
        output.Split('\n')
            .Select(line => line.TrimEnd('\r').Split(' '))
            .Where(parts => parts.Length == 4 && parts[0] == run)
            .ToDictionary(
                parts => parts[1],
                parts =>
                {
                    var values = parts[3].Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
                    Assert.Equal(int.Parse(parts[2], CultureInfo.InvariantCulture), values.Length);
                    return values;
                });
}
