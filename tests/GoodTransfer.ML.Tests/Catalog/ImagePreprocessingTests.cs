using System.Globalization;

namespace GoodTransfer.ML.Tests.Catalog;

public sealed class ImagePreprocessingTests
{
    private static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    [Fact]
    public void ImageNet_is_torchvisions_eval_transform()
    {
        var imageNet = ImagePreprocessing.ImageNet;

        Assert.Equal((256, 224), (imageNet.ResizeSize, imageNet.CropSize));
        Assert.Equal(ImageNetMean, imageNet.Mean);
        Assert.Equal(ImageNetStd, imageNet.Std);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(-1, 1)]
    [InlineData(4097, 224)]
    [InlineData(int.MaxValue, 224)]
    public void A_resize_size_outside_1_to_4096_is_refused(int resizeSize, int cropSize)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ImagePreprocessing(resizeSize, cropSize, ImageNetMean, ImageNetStd));

        Assert.Equal("ResizeSize", error.ParamName);
        Assert.Equal(resizeSize, error.ActualValue);
        Assert.StartsWith("ResizeSize must be between 1 and 4096 pixels.", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-224)]
    public void A_crop_size_below_1_is_refused(int cropSize)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ImagePreprocessing(256, cropSize, ImageNetMean, ImageNetStd));

        Assert.Equal("CropSize", error.ParamName);
        Assert.StartsWith("CropSize must be between 1 and 4096 pixels.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_crop_larger_than_the_resized_image_is_refused_rather_than_padded()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ImagePreprocessing(224, 256, ImageNetMean, ImageNetStd));

        Assert.Equal("CropSize", error.ParamName);
        Assert.Equal(256, error.ActualValue);
        Assert.StartsWith(
            "CenterCrop(256) is larger than the shorter side after Resize(224); torchvision would pad the image with black borders, which GoodTransfer.ML does not reproduce. CropSize must be at most ResizeSize.",
            error.Message,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4096, 4096)]
    [InlineData(232, 224)]
    public void Sizes_from_1_to_4096_with_the_crop_inside_are_accepted(int resizeSize, int cropSize)
    {
        var preprocessing = new ImagePreprocessing(resizeSize, cropSize, ImageNetMean, ImageNetStd);

        Assert.Equal((resizeSize, cropSize), (preprocessing.ResizeSize, preprocessing.CropSize));
    }

    [Fact]
    public void Mean_and_std_must_be_given()
    {
        Assert.Equal("Mean", Assert.Throws<ArgumentNullException>(() => new ImagePreprocessing(256, 224, null!, ImageNetStd)).ParamName);
        Assert.Equal("Std", Assert.Throws<ArgumentNullException>(() => new ImagePreprocessing(256, 224, ImageNetMean, null!)).ParamName);
    }

    [Theory]
    [InlineData("Mean", 2)]
    [InlineData("Mean", 4)]
    [InlineData("Std", 0)]
    [InlineData("Std", 1)]
    public void Mean_and_std_need_one_value_per_RGB_channel(string which, int count)
    {
        var values = Enumerable.Repeat(0.5f, count).ToArray();

        var error = Assert.Throws<ArgumentException>(() => which == "Mean"
            ? new ImagePreprocessing(256, 224, values, ImageNetStd)
            : new ImagePreprocessing(256, 224, ImageNetMean, values));

        Assert.Equal(which, error.ParamName);
        Assert.StartsWith($"{which} needs 3 values, one per RGB channel; it has {count}.", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Mean", float.NaN, "NaN")]
    [InlineData("Mean", float.PositiveInfinity, "Infinity")]
    [InlineData("Std", float.NegativeInfinity, "-Infinity")]
    [InlineData("Std", float.NaN, "NaN")]
    public void Mean_and_std_must_be_finite(string which, float value, string printed)
    {
        float[] values = [0.5f, value, 0.5f];

        var error = Assert.Throws<ArgumentException>(() => which == "Mean"
            ? new ImagePreprocessing(256, 224, values, ImageNetStd)
            : new ImagePreprocessing(256, 224, ImageNetMean, values));

        Assert.Equal(which, error.ParamName);
        Assert.StartsWith($"{which}[1] is {printed}; every value must be finite.", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0f, "0")]
    [InlineData(-0.25f, "-0.25")]
    public void A_standard_deviation_must_be_above_zero(float value, string printed)
    {
        var error = Assert.Throws<ArgumentException>(() => new ImagePreprocessing(256, 224, ImageNetMean, [0.2f, 0.2f, value]));

        Assert.Equal("Std", error.ParamName);
        Assert.StartsWith($"Std[2] is {printed}; a standard deviation must be above zero.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_negative_or_zero_mean_is_accepted()
    {
        var preprocessing = new ImagePreprocessing(256, 224, [-1f, 0f, 2f], ImageNetStd);

        Assert.Equal([-1f, 0f, 2f], preprocessing.Mean);
    }

    [Fact]
    public void Settings_with_the_same_numbers_are_equal()
    {
        var copy = new ImagePreprocessing(256, 224, [0.485f, 0.456f, 0.406f], new List<float> { 0.229f, 0.224f, 0.225f });

        Assert.Equal(ImagePreprocessing.ImageNet, copy);
        Assert.True(ImagePreprocessing.ImageNet == copy);
        Assert.Equal(ImagePreprocessing.ImageNet.GetHashCode(), copy.GetHashCode());
        Assert.Equal(ImagePreprocessing.ImageNet.CacheKey, copy.CacheKey);
    }

    [Fact]
    public void Settings_that_differ_in_any_number_are_not_equal()
    {
        var imageNet = ImagePreprocessing.ImageNet;
        ImagePreprocessing[] others =
        [
            new(232, 224, ImageNetMean, ImageNetStd),
            new(256, 192, ImageNetMean, ImageNetStd),
            new(256, 224, [0.485f, 0.456f, 0.40600002f], ImageNetStd),
            new(256, 224, ImageNetMean, [0.229f, 0.225f, 0.224f]),
        ];

        Assert.All(others, other =>
        {
            Assert.NotEqual(imageNet, other);
            Assert.True(imageNet != other);
            Assert.NotEqual(imageNet.CacheKey, other.CacheKey);
        });
        Assert.Equal(others.Length, others.Select(o => o.CacheKey).Distinct().Count());
    }

    [Fact]
    public void Minus_zero_is_zero_in_equality_printing_and_cache_key()
    {
        var plus = new ImagePreprocessing(256, 224, [0f, 0f, 0f], ImageNetStd);
        var minus = new ImagePreprocessing(256, 224, [-0f, 0f, -0f], ImageNetStd);

        Assert.Equal(plus, minus);
        Assert.Equal(plus.GetHashCode(), minus.GetHashCode());
        Assert.Equal(plus.ToString(), minus.ToString());
        Assert.Equal(plus.CacheKey, minus.CacheKey);
    }

    [Fact]
    public void The_values_are_a_copy_that_cannot_be_changed()
    {
        float[] mean = [0.5f, 0.5f, 0.5f];
        var preprocessing = new ImagePreprocessing(160, 128, mean, [0.25f, 0.25f, 0.25f]);

        mean[0] = 0.9f;

        Assert.Equal(0.5f, preprocessing.Mean[0]);
        Assert.IsNotType<float[]>(preprocessing.Mean);
        Assert.Throws<NotSupportedException>(() => ((IList<float>)preprocessing.Std)[0] = 1f);
    }

    [Fact]
    public void ToString_is_the_transform_in_invariant_culture_and_shortest_round_trip_floats()
    {
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
        try
        {
            Assert.Equal(
                "Resize(256) CenterCrop(224) Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])",
                ImagePreprocessing.ImageNet.ToString());
            Assert.Equal(
                "Resize(160) CenterCrop(128) Normalize(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])",
                new ImagePreprocessing(160, 128, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]).ToString());
            Assert.Equal(
                "Resize(256) CenterCrop(224) Normalize(mean=[0.1, 1E-07, 0.33333334], std=[1, 2, 3])",
                new ImagePreprocessing(256, 224, [0.1f, 1e-7f, 1f / 3], [1f, 2f, 3f]).ToString());
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void Cache_key_is_stable_eight_hex_digits_of_the_printed_transform()
    {
        // The first 8 hex digits of the SHA-256 of ToString()'s UTF-8 bytes (Python's hashlib gives the same):
        // a cache named with it must keep its name across releases, so the values are pinned here.
        Assert.Equal("fcdfa1fc", ImagePreprocessing.ImageNet.CacheKey);
        Assert.Equal("2b276a41", new ImagePreprocessing(160, 128, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]).CacheKey);
    }

    [Fact]
    public void Deconstructs_into_its_four_members()
    {
        var (resizeSize, cropSize, mean, std) = ImagePreprocessing.ImageNet;

        Assert.Equal((256, 224), (resizeSize, cropSize));
        Assert.Equal(ImageNetMean, mean);
        Assert.Equal(ImageNetStd, std);
    }
}
