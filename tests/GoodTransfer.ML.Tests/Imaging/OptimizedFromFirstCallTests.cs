using System.Reflection;
using GoodTransfer.ML.Imaging;

namespace GoodTransfer.ML.Tests.Imaging;

/// <summary>
/// The loops over pixels carry <c>AggressiveOptimization</c>, so that a new process's first photos are not preprocessed
/// by unoptimized code (tiered compilation's first tier runs them several times slower; README's throughput section).
/// </summary>
public sealed class OptimizedFromFirstCallTests
{
    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    public static TheoryData<string, string> LoopsOverPixels => new()
    {
        { nameof(PillowResize), "ResizeRegion(PixelWindow&" },
        { nameof(PillowResize), "HorizontalPass" },
        { nameof(PillowResize), "HorizontalRowScalar" },
        { nameof(PillowResize), "HorizontalRow128" },
        { nameof(PillowResize), "HorizontalRow256" },
        { nameof(PillowResize), "HorizontalRow512" },
        { nameof(PillowResize), "VerticalPass" },
        { nameof(PillowResize), "VerticalRowScalar" },
        { "PillowResize+PixelTaps", ".ctor" },
        { "PillowResize+ResampleKernel", "Bilinear" },
        { nameof(TorchvisionTransform), "ToPlanes" },
        { nameof(TorchvisionTransform), "StoreUnits" },
        { nameof(ImageDecoder), "DropAlpha" },
        { nameof(ImageDecoder), "FromMLImage" },
    };

    [Theory]
    [MemberData(nameof(LoopsOverPixels))]
    public void A_loop_over_pixels_is_compiled_optimized_from_its_first_call(string type, string method)
    {
        var declaring = typeof(PillowResize).Assembly.GetType($"GoodTransfer.ML.Imaging.{type}", throwOnError: true)!;
        var matches = declaring.GetMethods(Everything).Cast<MethodBase>().Concat(declaring.GetConstructors(Everything))
            .Where(m => Describe(m) == method)
            .ToList();

        Assert.True(matches.Count == 1, $"{type} has {matches.Count} methods named {method}: {string.Join(", ", matches.Select(Describe))}");
        Assert.True(
            matches[0].MethodImplementationFlags.HasFlag(MethodImplAttributes.AggressiveOptimization),
            $"{type}.{Describe(matches[0])} is not marked [MethodImpl(MethodImplOptions.AggressiveOptimization)]");
    }

    /// <summary>The name, and for an overload of ResizeRegion its first parameter's type, so that one overload can be named.</summary>
    private static string Describe(MethodBase method) =>
        method.Name == "ResizeRegion" ? $"{method.Name}({method.GetParameters()[0].ParameterType.Name}" : method.Name;
}
