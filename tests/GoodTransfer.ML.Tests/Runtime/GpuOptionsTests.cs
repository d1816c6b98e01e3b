using GoodTransfer.ML.Tests.Onnx.Quantization;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>
/// The GPU options on a machine without CUDA (the tests reference the CPU package, whose ONNX Runtime
/// has no CUDA provider): fallback with a logged warning, a clear error without fallback, and float16.
/// </summary>
public sealed class GpuOptionsTests : IDisposable
{
    private readonly MLContext mlContext = new(seed: 1);
    private readonly TemporaryFile cache = new("unused");
    private readonly List<(ChannelMessageKind Kind, string Message)> messages = [];

    public GpuOptionsTests()
    {
        mlContext.Log += (_, e) =>
        {
            if (e.Source == "GoodTransfer")
            {
                lock (messages)
                {
                    messages.Add((e.Kind, e.RawMessage));
                }
            }
        };
    }

    public void Dispose() => cache.Dispose();

    [Fact]
    public void Without_CUDA_a_GPU_request_falls_back_to_the_CPU_with_a_logged_warning_and_the_same_features()
    {
        var data = Images(3);
        var cpu = Features(data, new GoodTransferOptions { CacheDirectory = cache.Folder }, out var cpuDevice);

        var fallback = Features(data, new GoodTransferOptions { CacheDirectory = cache.Folder, GpuDeviceId = 0, FallbackToCpu = true }, out var fallbackDevice);

        Assert.Equal(cpu, fallback);
        Assert.Null(cpuDevice);
        Assert.Null(fallbackDevice);
        var warning = Assert.Single(messages, m => m.Kind == ChannelMessageKind.Warning);
        Assert.Contains("CUDA device 0 cannot be used", warning.Message, StringComparison.Ordinal);
        Assert.Contains("runs on the CPU", warning.Message, StringComparison.Ordinal);
        Assert.Contains("GoodTransfer.ML package", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_CUDA_and_without_fallback_Fit_throws_an_error_naming_the_device_the_package_and_the_way_out()
    {
        var data = Images(1);
        var estimator = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: new GoodTransferOptions { CacheDirectory = cache.Folder, GpuDeviceId = 1, FallbackToCpu = false });

        var error = Assert.Throws<GpuUnavailableException>(() => estimator.Fit(data));

        Assert.Equal(1, error.DeviceId);
        Assert.Contains("CUDA device 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("GoodTransfer.ML.Gpu", error.Message, StringComparison.Ordinal);
        Assert.Contains("FallbackToCpu = true", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public void Float16_without_a_GPU_is_refused_before_anything_is_fetched()
    {
        var estimator = mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet, inputColumnName: "Path", options: new GoodTransferOptions { CacheDirectory = cache.Folder, Offline = true, Precision = Precision.Float16 });

        var error = Assert.Throws<InvalidOperationException>(() => estimator.Fit(Images(1)));

        Assert.Contains("Precision.Float16 is for the GPU", error.Message, StringComparison.Ordinal);
        Assert.Contains("GpuDeviceId", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Float16_on_a_GPU_that_falls_back_runs_the_float16_model_on_the_CPU_and_saves_it()
    {
        var data = Images(4);
        var fp32 = Features(data, new GoodTransferOptions { CacheDirectory = cache.Folder }, out _);
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, GpuDeviceId = 0, Precision = Precision.Float16, BatchSize = 3 };
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: options).Fit(data);
        var fp16 = FeatureFixtures.Column(featurizer.Transform(data), "Features");
        var reloaded = FeatureFixtures.FeaturesAfterSaveAndLoad(mlContext, featurizer, data);

        Assert.Equal(4, fp16.Count);
        Assert.NotEqual(fp32, fp16);
        var cosine = QuantizationFixtures.WorstCosine([.. fp16.SelectMany(f => f)], [.. fp32.SelectMany(f => f)], 4);
        Assert.True(cosine >= 0.9999, $"cosine {cosine:F7}");
        Assert.Equal(fp16, reloaded);
        Assert.Contains(Directory.EnumerateFiles(Path.Combine(cache.Folder, "onnx")), f => f.Contains("-fp16v", StringComparison.Ordinal));
    }

    private IDataView Images(int count) => FeatureFixtures.Paths(mlContext, FeatureFixtures.Manifest.Images.Select(i => i.FullPath).Take(count));

    private List<float[]> Features(IDataView data, GoodTransferOptions options, out int? device)
    {
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: options).Fit(data);
        device = featurizer.GpuDeviceId;
        return FeatureFixtures.Column(featurizer.Transform(data), "Features");
    }
}
