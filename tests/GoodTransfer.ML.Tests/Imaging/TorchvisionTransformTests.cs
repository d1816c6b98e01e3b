using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Tests.Imaging;

public sealed class TorchvisionTransformTests
{
    public static TheoryData<string> Images => ImageFixtures.ImageFiles();

    public static TheoryData<string> TransformCases => new(ImageFixtures.Instance.TransformCases.Select(c => c.Name));

    public static TheoryData<string, string> OtherPreprocessings => PreprocessingFixtures.TransformsAndImages();

    [Theory]
    [MemberData(nameof(Images))]
    public void Resize_and_crop_of_a_decoded_file_matches_torchvision_exactly(string file)
    {
        var fixture = ImageFixtures.Instance.Image(file);
        var expected = fixture.ReadCrop();

        var crop = TorchvisionTransform.ImageNet.ResizeAndCrop(ImageDecoder.DecodeFile(fixture.FullPath));

        Assert.Equal((224, 224), (crop.Width, crop.Height));
        Assert.True(
            expected.AsSpan().SequenceEqual(crop.Pixels),
            $"max abs diff {ImageFixtures.MaxAbsDiff(expected, crop.Pixels)} in {ImageFixtures.DifferingPixels(expected, crop.Pixels)} of 50176 pixels");
    }

    [Theory]
    [MemberData(nameof(OtherPreprocessings))]
    public void Resize_and_crop_of_another_preprocessing_matches_torchvision_exactly(string transform, string file)
    {
        var fixture = PreprocessingFixtures.Instance.Transform(transform);
        var size = fixture.Crop;
        var expected = fixture.Image(file).ReadCrop(size);

        var crop = new TorchvisionTransform(fixture.Preprocessing).ResizeAndCrop(ImageDecoder.DecodeFile(fixture.Image(file).FullPath));

        Assert.Equal((size, size), (crop.Width, crop.Height));
        Assert.True(
            expected.AsSpan().SequenceEqual(crop.Pixels),
            $"max abs diff {ImageFixtures.MaxAbsDiff(expected, crop.Pixels)} in {ImageFixtures.DifferingPixels(expected, crop.Pixels)} of {size * size} pixels");
    }

    [Theory]
    [MemberData(nameof(TransformCases))]
    public void Tiny_and_elongated_images_match_torchvision_exactly(string name)
    {
        var testCase = ImageFixtures.Instance.TransformCases.Single(c => c.Name == name);
        var expected = testCase.ReadCrop();

        var crop = TorchvisionTransform.ImageNet.ResizeAndCrop(testCase.ReadInput());

        Assert.True(
            expected.AsSpan().SequenceEqual(crop.Pixels),
            $"max abs diff {ImageFixtures.MaxAbsDiff(expected, crop.Pixels)} in {ImageFixtures.DifferingPixels(expected, crop.Pixels)} of 50176 pixels");
    }

    [Theory]
    [InlineData("rocket.jpg")]
    [InlineData("coffee_cmyk.jpg")]
    [InlineData("astronaut_gray.jpg")]
    [InlineData("coffee_palette.png")]
    public void MLImage_of_an_opaque_image_gives_torchvisions_crop(string file)
    {
        var fixture = ImageFixtures.Instance.Image(file);
        using var mlImage = MLImage.CreateFromFile(fixture.FullPath);

        var crop = TorchvisionTransform.ImageNet.ResizeAndCrop(ImageDecoder.FromMLImage(mlImage, fixture.File));

        Assert.Equal(fixture.ReadCrop(), crop.Pixels);
    }

    [Fact]
    public void ToTensor_is_CHW_float32_of_the_crop_divided_by_255()
    {
        var image = ImageDecoder.DecodeFile(ImageFixtures.PathOf("coffee_500x333.jpg"));
        var crop = TorchvisionTransform.ImageNet.ResizeAndCrop(image).Pixels;
        var tensor = new float[TorchvisionTransform.ImageNet.TensorLength + 5];
        tensor.AsSpan(TorchvisionTransform.ImageNet.TensorLength).Fill(-1f);

        TorchvisionTransform.ImageNet.ToTensor(image, tensor);

        for (var channel = 0; channel < 3; channel++)
        {
            for (var y = 0; y < 224; y++)
            {
                for (var x = 0; x < 224; x++)
                {
                    var expected = crop[(((y * 224) + x) * 3) + channel] / 255f;
                    Assert.Equal(expected, tensor[(channel * 224 * 224) + (y * 224) + x]);
                }
            }
        }

        Assert.All(tensor[TorchvisionTransform.ImageNet.TensorLength..], v => Assert.Equal(-1f, v));
    }

    [Fact]
    public void ToTensor_refuses_a_destination_too_small()
    {
        var image = new RgbImage(1, 1, [1, 2, 3]);

        var error = Assert.Throws<ArgumentException>(() => TorchvisionTransform.ImageNet.ToTensor(image, new float[TorchvisionTransform.ImageNet.TensorLength - 1]));

        Assert.Equal("destination", error.ParamName);
    }

    [Theory]
    [InlineData(500, 333, 384, 256)] // int(256 * 500 / 333) = int(384.38)
    [InlineData(333, 500, 256, 384)]
    [InlineData(640, 427, 383, 256)] // int(383.70): truncated, not rounded
    [InlineData(257, 999, 256, 995)]
    [InlineData(256, 300, 256, 300)] // shorter side already 256: unchanged
    [InlineData(300, 256, 300, 256)]
    [InlineData(224, 224, 256, 256)]
    [InlineData(1, 1, 256, 256)]
    [InlineData(1, 7, 256, 1792)]
    [InlineData(4000, 3000, 341, 256)]
    public void Resize_256_keeps_the_aspect_ratio_and_truncates_the_long_side(int width, int height, int expectedWidth, int expectedHeight)
    {
        Assert.Equal((expectedWidth, expectedHeight), TorchvisionTransform.ImageNet.ResizedSize(width, height));
    }

    [Theory]
    [InlineData(291, 34)] // round(33.5) = 34: halves go to even
    [InlineData(289, 32)] // round(32.5) = 32, where rounding half away from zero would give 33
    [InlineData(225, 0)] // round(0.5) = 0
    [InlineData(227, 2)] // round(1.5) = 2
    [InlineData(224, 0)]
    [InlineData(384, 80)]
    public void Center_crop_offsets_round_halves_to_even_as_Python_does(int size, int expectedOffset)
    {
        Assert.Equal((expectedOffset, expectedOffset), TorchvisionTransform.ImageNet.CropOrigin(size, size));
    }

    [Fact]
    public void An_image_too_elongated_for_Pillow_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => TorchvisionTransform.ImageNet.ResizedSize(100_000_000, 1));

        Assert.Contains("too elongated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ImageNet_transform_takes_its_sizes_from_the_ImageNet_preprocessing()
    {
        var imageNet = TorchvisionTransform.ImageNet;

        Assert.Same(ImagePreprocessing.ImageNet, imageNet.Preprocessing);
        Assert.Equal((256, 224, 3 * 224 * 224), (imageNet.ResizeSize, imageNet.CropSize, imageNet.TensorLength));
    }

    [Theory]
    [InlineData(232, 224, 500, 333, 348, 232)] // int(232 * 500 / 333) = int(348.35)
    [InlineData(232, 224, 232, 900, 232, 900)] // shorter side already 232: unchanged
    [InlineData(160, 128, 333, 500, 160, 240)] // int(240.24)
    [InlineData(160, 128, 640, 427, 239, 160)] // int(239.81): truncated, not rounded
    [InlineData(160, 128, 1, 1, 160, 160)]
    public void Resize_uses_the_preprocessings_resize_size(int resizeSize, int cropSize, int width, int height, int expectedWidth, int expectedHeight)
    {
        var transform = new TorchvisionTransform(new ImagePreprocessing(resizeSize, cropSize, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]));

        Assert.Equal((expectedWidth, expectedHeight), transform.ResizedSize(width, height));
    }

    [Theory]
    [InlineData(161, 16)] // round(16.5) = 16: halves go to even
    [InlineData(163, 18)] // round(17.5) = 18
    [InlineData(128, 0)]
    [InlineData(240, 56)]
    public void Center_crop_uses_the_preprocessings_crop_size(int size, int expectedOffset)
    {
        var transform = new TorchvisionTransform(new ImagePreprocessing(160, 128, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]));

        Assert.Equal((expectedOffset, expectedOffset), transform.CropOrigin(size, size));
    }

    [Fact]
    public void A_smaller_crop_gives_a_smaller_tensor_of_the_same_layout()
    {
        var transform = new TorchvisionTransform(new ImagePreprocessing(160, 128, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]));
        var image = ImageDecoder.DecodeFile(ImageFixtures.PathOf("coffee_500x333.jpg"));
        var crop = transform.ResizeAndCrop(image);
        var tensor = new float[transform.TensorLength];

        transform.ToTensor(image, tensor);

        Assert.Equal((128, 128, 3 * 128 * 128), (crop.Width, crop.Height, transform.TensorLength));
        for (var channel = 0; channel < 3; channel++)
        {
            for (var i = 0; i < 128 * 128; i++)
            {
                Assert.Equal(crop.Pixels[(3 * i) + channel] / 255f, tensor[(channel * 128 * 128) + i]);
            }
        }

        var error = Assert.Throws<ArgumentException>(() => transform.ToTensor(image, new float[transform.TensorLength - 1]));
        Assert.Equal("destination", error.ParamName);
        Assert.StartsWith("The destination holds 49151 floats; a [3, 128, 128] tensor needs 49152.", error.Message, StringComparison.Ordinal);
    }
}
