using GoodTransfer.ML.PackageTests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.PackageTests;

/// <summary>
/// "Never both in one app": the buildTransitive targets in both packages (src/buildTransitive) fail the build of a
/// fresh project that ends up with two ONNX Runtimes, and say what to do.
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed class OneFlavourGuardTests(PackedRepository packed, ITestOutputHelper output)
{
    [Fact]
    public void An_app_that_references_both_packages_fails_to_build_with_an_error_naming_both()
    {
        var project = FreshProject.Create(packed, "BothFlavours");
        project.AddPackage(PackedRepository.CpuPackage, packed.Version);
        project.AddPackage(PackedRepository.GpuPackage, packed.Version);

        var build = project.Build();
        output.WriteLine(build.Output);

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains(
            "error GOODTRANSFER001: This project references both GoodTransfer.ML and GoodTransfer.ML.Gpu (directly or through other packages). " +
            "They are the same library built against ONNX Runtime's CPU natives (Microsoft.ML.OnnxRuntime) and its CUDA natives (Microsoft.ML.OnnxRuntime.Gpu), " +
            "and only one ONNX Runtime can load in a process. Keep one package reference: GoodTransfer.ML.Gpu for NVIDIA GPUs (it also runs on the CPU), GoodTransfer.ML otherwise.",
            build.Output,
            StringComparison.Ordinal);
        Assert.DoesNotContain("GOODTRANSFER002", build.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_app_with_GoodTransfer_ML_and_ONNX_Runtime_GPU_natives_fails_to_build_naming_both_runtimes()
    {
        var project = FreshProject.Create(packed, "CpuWithGpuNatives");
        project.AddPackage(PackedRepository.CpuPackage, packed.Version);
        project.AddPackage("Microsoft.ML.OnnxRuntime.Gpu", "1.31.0");

        var build = project.Build();
        output.WriteLine(build.Output);

        Assert.NotEqual(0, build.ExitCode);
        Assert.Matches(
            @"error GOODTRANSFER002: This project gets ONNX Runtime's native library \(runtimes/[\w-]+/native/[\w.]+\) from more than one package: " +
            @"(Microsoft\.ML\.OnnxRuntime and Microsoft\.ML\.OnnxRuntime\.Gpu\.\w+|Microsoft\.ML\.OnnxRuntime\.Gpu\.\w+ and Microsoft\.ML\.OnnxRuntime)\. " +
            @"Only one ONNX Runtime can load in a process\. This project references GoodTransfer\.ML, which brings its own ONNX Runtime",
            build.Output);
        Assert.DoesNotContain("GOODTRANSFER001", build.Output, StringComparison.Ordinal);
    }
}
