using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests;

/// <summary>Options are checked and frozen when the estimator is made (<see cref="FeaturizerSettings"/>).</summary>
public sealed class FeaturizerSettingsTests
{
    private readonly MLContext mlContext = new(seed: 1);

    public static TheoryData<string, Action<GoodTransferOptions>, string> OutOfRange => new()
    {
        { "BatchSize", o => o.BatchSize = 100_000, "BatchSize must be between 1 and 1024" },
        { "CpuThreads", o => o.CpuThreads = -3, "CpuThreads must be at least 1" },
        { "CpuThreads", o => o.CpuThreads = 0, "CpuThreads must be at least 1" },
        { "GpuDeviceId", o => o.GpuDeviceId = -1, "GpuDeviceId must be a CUDA device number" },
        { "FeatureLayer", o => o.FeatureLayer = (FeatureLayer)9, "FeatureLayer 9 is not one of Layer4, Layer1, Layer2, Layer3, AllLayers." },
        { "Precision", o => o.Precision = (Precision)7, "Precision 7 is not one of Float32, Int8, Float16." },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void An_option_out_of_range_is_refused_when_the_estimator_is_made_and_named(string option, Action<GoodTransferOptions> set, string message)
    {
        var options = new GoodTransferOptions();
        set(options);

        var error = Assert.ThrowsAny<ArgumentException>(() => mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet, options: options));

        Assert.Equal(option, error.ParamName);
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://mirror.example.com/models/")]
    [InlineData("/srv/mirror/")]
    [InlineData("mirror.example.com/models")]
    public void A_mirror_that_is_not_an_absolute_http_url_is_refused_and_named(string mirror)
    {
        var options = new GoodTransferOptions { MirrorUrl = mirror, Offline = true };

        var error = Assert.Throws<ArgumentException>(() => mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet, options: options));

        Assert.Equal("MirrorUrl", error.ParamName);
        Assert.StartsWith($"The checkpoint mirror '{mirror}' (from MirrorUrl) is not an absolute http:// or https:// URL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mirror_without_a_trailing_slash_is_a_folder()
    {
        var settings = FeaturizerSettings.From(new GoodTransferOptions { MirrorUrl = "https://mirror.example.com/models" });

        Assert.Equal("https://mirror.example.com/models/moco_v2_imagenet.pth", settings.Acquisition.UrlFor(Backbone.MocoV2ImageNet).AbsoluteUri);
    }

    [Fact]
    public void Missing_calibration_images_are_refused_when_the_estimator_is_made()
    {
        using var cache = new TemporaryFile("unused");
        var missing = Path.Combine(cache.Folder, "missing.jpg");
        var options = new GoodTransferOptions { Precision = Precision.Int8, CalibrationImages = [missing] };

        var error = Assert.Throws<ArgumentException>(() => mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet, options: options));

        Assert.Equal("CalibrationImages", error.ParamName);
        Assert.Equal($"CalibrationImages[0] names no file: '{missing}' does not exist. (Parameter 'CalibrationImages')", error.Message);
    }

    [Fact]
    public void Calibration_images_are_not_read_unless_int8_is_asked_for()
    {
        var options = new GoodTransferOptions { CalibrationImages = ["/nowhere/missing.jpg"] };

        var settings = FeaturizerSettings.From(options);

        Assert.Empty(settings.Conversion.CalibrationImages);
    }

    [Fact]
    public void Changing_the_options_after_the_estimator_is_made_changes_nothing()
    {
        using var cache = new TemporaryFile("unused");
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, BatchSize = 4, CpuThreads = 1 };
        var data = FeatureFixtures.Paths(mlContext, [FeatureFixtures.Manifest.Images[0].FullPath]);
        var estimator = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: options);

        options.FeatureLayer = FeatureLayer.Layer1;
        options.CacheDirectory = Path.Combine(cache.Folder, "elsewhere");
        options.Precision = Precision.Float16;
        using var featurizer = estimator.Fit(data);

        using var reference = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: new GoodTransferOptions { CacheDirectory = cache.Folder }).Fit(data);

        Assert.Equal(FeatureFixtures.Column(reference.Transform(data), "Features"), FeatureFixtures.Column(featurizer.Transform(data), "Features"));
        Assert.False(Directory.Exists(Path.Combine(cache.Folder, "elsewhere")));
    }
}
