using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// A full-size torchvision ResNet-50 with random weights (about 98 MB), written by real PyTorch at test time
/// (Samples/make_resnet50_checkpoint.py), whose conversion takes seconds and writes models of about 90 MB: long
/// enough to kill a process midway. Also its features for two images from a clean conversion, and that
/// conversion's cache. Made once per test class; fails, never skips, without PyTorch.
/// </summary>
public sealed class FullSizeResNet50 : IDisposable
{
    private readonly TemporaryFile checkpoint = new("resnet50.pth");
    private readonly TemporaryFile cleanCache = new("unused");

    public FullSizeResNet50()
    {
        PythonOracle.Run(TimeSpan.FromMinutes(5), Path.Combine(AppContext.BaseDirectory, "Samples", "make_resnet50_checkpoint.py"), checkpoint.Path);
        var mlContext = new MLContext(seed: 1);
        var data = FeatureFixtures.Paths(mlContext, Images);
        using var model = mlContext.Transforms.GoodTransferFeaturize(Backbone.FromFile(CheckpointPath), inputColumnName: "Path", options: Options(cleanCache.Folder)).Fit(data);
        Features = FeatureFixtures.Column(model.Transform(data), "Features");
    }

    public string CheckpointPath => checkpoint.Path;

    public IReadOnlyList<string> Images { get; } = [.. FeatureFixtures.Manifest.Images.Where(i => i.MLImageExact).Take(2).Select(i => i.FullPath)];

    /// <summary>The features of <see cref="Images"/> from a conversion that nothing interrupted.</summary>
    public IReadOnlyList<float[]> Features { get; }

    /// <summary>The onnx folder of that conversion: both models and their records.</summary>
    public string CleanOnnxFolder => Path.Combine(cleanCache.Folder, "onnx");

    public static GoodTransferOptions Options(string cacheFolder) => new() { CacheDirectory = cacheFolder, Offline = true };

    public void Dispose()
    {
        cleanCache.Dispose();
        checkpoint.Dispose();
    }
}
