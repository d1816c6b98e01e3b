using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Onnx.Quantization;

/// <summary><see cref="GoodTransferOptions.Precision"/> and <see cref="GoodTransferOptions.CalibrationImages"/> through the public API.</summary>
public sealed class Int8OptionsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Float32_is_the_default()
    {
        Assert.Equal(Precision.Float32, new GoodTransferOptions().Precision);
        Assert.Null(new GoodTransferOptions().CalibrationImages);
    }

    [Fact]
    public void Int8_without_calibration_images_is_refused_before_anything_is_written()
    {
        var fixture = FixtureManifest.Instance.Checkpoint("bottleneck_root.pth");
        using var onnx = new TemporaryFile("int8.onnx");

        var error = Assert.Throws<ArgumentException>(() =>
            Backbone.FromFile(fixture.FullPath).ExportOnnx(onnx.Path, new GoodTransferOptions { Precision = Precision.Int8 }));

        Assert.Equal("CalibrationImages", error.ParamName);
        Assert.StartsWith("Precision.Int8 needs GoodTransferOptions.CalibrationImages", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(onnx.Path));
    }

    [Fact]
    public void Fit_with_int8_and_no_calibration_images_calibrates_on_the_first_images_of_the_data_and_says_so()
    {
        var mlContext = new MLContext(seed: 1);
        var messages = new List<string>();
        mlContext.Log += (_, e) =>
        {
            if (e.Source == "GoodTransfer")
            {
                lock (messages)
                {
                    messages.Add(e.RawMessage);
                }
            }
        };
        var files = QuantizationFixtures.CalibrationPaths;
        var paths = FeatureFixtures.Paths(mlContext, files);
        using var cache = new TemporaryFile("unused");
        var implicitOptions = new GoodTransferOptions { CacheDirectory = cache.Folder, Precision = Precision.Int8 };
        var explicitOptions = new GoodTransferOptions { CacheDirectory = cache.Folder, Precision = Precision.Int8, CalibrationImages = files };

        using var fromData = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: implicitOptions).Fit(paths);
        var converted = Directory.GetFiles(Path.Combine(cache.Folder, "onnx"), "*.onnx");
        using var fromFiles = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: explicitOptions).Fit(paths);

        // The same images calibrate the same model: one int8 entry in the cache, the same features.
        Assert.Contains($"Precision.Int8 without CalibrationImages: calibrating on the first {files.Count} images of the data being fitted.", messages);
        Assert.Equal(2, converted.Length);
        Assert.All(converted, f => Assert.Contains("-int8q", f, StringComparison.Ordinal));
        Assert.Equal(converted.Order(), Directory.GetFiles(Path.Combine(cache.Folder, "onnx"), "*.onnx").Order());
        Assert.Equal(FeatureFixtures.Column(fromFiles.Transform(paths), "Features"), FeatureFixtures.Column(fromData.Transform(paths), "Features"));
    }

    [Fact]
    public void Fit_with_int8_on_data_without_a_decodable_image_is_refused_naming_the_option()
    {
        var mlContext = new MLContext(seed: 1);
        using var cache = new TemporaryFile("unused");
        using var notAnImage = new TemporaryFile("not an image"u8.ToArray(), "notes.jpg");
        var paths = FeatureFixtures.Paths(mlContext, [notAnImage.Path]);
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, Precision = Precision.Int8 };

        var error = Assert.Throws<ArgumentException>(() =>
            mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: options).Fit(paths));

        Assert.Equal("CalibrationImages", error.ParamName);
        Assert.StartsWith("Precision.Int8 calibrates on the first images of the data being fitted when GoodTransferOptions.CalibrationImages is not set, but column 'Path' has no image that decodes", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(cache.Folder, "onnx")));
    }

    [Fact]
    public void An_unknown_precision_is_refused()
    {
        var fixture = FixtureManifest.Instance.Checkpoint("bottleneck_root.pth");
        using var onnx = new TemporaryFile("model.onnx");

        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Backbone.FromFile(fixture.FullPath).ExportOnnx(onnx.Path, new GoodTransferOptions { Precision = (Precision)7 }));

        Assert.Equal("Precision", error.ParamName);
        Assert.StartsWith("Precision 7 is not one of Float32, Int8, Float16.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_undecodable_calibration_image_is_named()
    {
        var fixture = FixtureManifest.Instance.Checkpoint("bottleneck_root.pth");
        using var onnx = new TemporaryFile("model.onnx");
        using var notAnImage = new TemporaryFile("not an image"u8.ToArray(), "notes.jpg");
        var missing = Path.Combine(onnx.Folder, "missing.jpg");

        var notFound = Assert.Throws<ArgumentException>(() => Backbone.FromFile(fixture.FullPath).ExportOnnx(
            onnx.Path,
            new GoodTransferOptions { Precision = Precision.Int8, CalibrationImages = [QuantizationFixtures.CalibrationPaths[0], missing] }));
        var invalid = Assert.Throws<InvalidImageException>(() => Backbone.FromFile(fixture.FullPath).ExportOnnx(
            onnx.Path,
            new GoodTransferOptions { Precision = Precision.Int8, CalibrationImages = [notAnImage.Path] }));

        Assert.Equal("CalibrationImages", notFound.ParamName);
        Assert.StartsWith($"CalibrationImages[1] names no file: '{missing}' does not exist.", notFound.Message, StringComparison.Ordinal);
        Assert.Contains(notAnImage.Path, invalid.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(onnx.Path));
    }

    [Fact]
    public void The_featurizer_runs_the_int8_models_and_caches_them_beside_the_float32_ones()
    {
        var mlContext = new MLContext(seed: 1);
        var paths = FeatureFixtures.Paths(mlContext, QuantizationFixtures.HeldOutPaths);
        using var cache = new TemporaryFile("unused");
        var fp32Options = new GoodTransferOptions { CacheDirectory = cache.Folder };
        var int8Options = new GoodTransferOptions { CacheDirectory = cache.Folder, Precision = Precision.Int8, CalibrationImages = QuantizationFixtures.CalibrationPaths };

        using var fp32 = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: fp32Options).Fit(paths);
        using var int8 = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: int8Options).Fit(paths);
        var fp32Features = FeatureFixtures.Column(fp32.Transform(paths), "Features");
        var int8Features = FeatureFixtures.Column(int8.Transform(paths), "Features");

        var cached = Directory.GetFiles(Path.Combine(cache.Folder, "onnx"), "*.onnx").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(4, cached.Count);
        Assert.Equal(2, cached.Count(name => name!.Contains("-int8q", StringComparison.Ordinal)));
        for (var i = 0; i < fp32Features.Count; i++)
        {
            var cosine = Similarity.Cosine(int8Features[i], fp32Features[i]);
            output.WriteLine($"{QuantizationFixtures.HeldOutFiles[i]}: cosine int8 vs fp32 {cosine:F5}");
            Assert.True(cosine >= 0.99, $"{QuantizationFixtures.HeldOutFiles[i]}: cosine {cosine:F5}");
            Assert.NotEqual(fp32Features[i], int8Features[i]);
        }
    }

    [Fact]
    public void A_saved_int8_pipeline_loads_and_gives_the_features_it_gave_before()
    {
        var mlContext = new MLContext(seed: 1);
        var paths = FeatureFixtures.Paths(mlContext, QuantizationFixtures.HeldOutPaths);
        using var cache = new TemporaryFile("unused");
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, Precision = Precision.Int8, CalibrationImages = QuantizationFixtures.CalibrationPaths };
        using var model = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: options).Fit(paths);
        var expected = FeatureFixtures.Column(model.Transform(paths), "Features");

        var actual = FeatureFixtures.FeaturesAfterSaveAndLoad(mlContext, model, paths);

        // The saved form runs the one-image graph, the fitted one the batched graph: same integer kernels, one image at a time.
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(Similarity.Cosine(actual[i], expected[i]) >= 0.99999, $"{QuantizationFixtures.HeldOutFiles[i]}: cosine {Similarity.Cosine(actual[i], expected[i]):F7}");
        }
    }
}
