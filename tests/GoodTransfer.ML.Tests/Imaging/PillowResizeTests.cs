using GoodTransfer.ML.Imaging;

namespace GoodTransfer.ML.Tests.Imaging;

public sealed class PillowResizeTests
{
    public static TheoryData<string> Cases => new(ImageFixtures.Instance.ResizeCases.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resize_matches_Pillow_bilinear_exactly(string name)
    {
        var testCase = ImageFixtures.Instance.ResizeCases.Single(c => c.Name == name);

        var resized = PillowResize.Resize(testCase.ReadInput(), testCase.OutWidth, testCase.OutHeight);

        Assert.Equal((testCase.OutWidth, testCase.OutHeight), (resized.Width, resized.Height));
        Assert.Equal(testCase.ReadOutput(), resized.Pixels);
    }

    [Fact]
    public void A_region_is_the_same_bytes_as_a_crop_of_the_whole_resize()
    {
        var image = ImageDecoder.DecodeFile(ImageFixtures.PathOf("chelsea_333x500.jpg"));
        var whole = PillowResize.Resize(image, 101, 157);
        var random = new Random(11);
        for (var trial = 0; trial < 20; trial++)
        {
            var width = random.Next(1, 102);
            var height = random.Next(1, 158);
            var left = random.Next(0, 102 - width);
            var top = random.Next(0, 158 - height);
            var region = new byte[width * height * 3];

            PillowResize.ResizeRegion(image, 101, 157, left, top, width, height, region);

            for (var y = 0; y < height; y++)
            {
                var expected = whole.Pixels.AsSpan((((top + y) * 101) + left) * 3, width * 3);
                Assert.True(expected.SequenceEqual(region.AsSpan(y * width * 3, width * 3)), $"row {y} of {width}x{height} at ({left}, {top})");
            }
        }
    }

    [Fact]
    public void Same_size_is_a_copy()
    {
        var image = new RgbImage(2, 1, [1, 2, 3, 4, 5, 6]);

        var resized = PillowResize.Resize(image, 2, 1);

        Assert.Equal(image.Pixels, resized.Pixels);
        Assert.NotSame(image.Pixels, resized.Pixels);
    }

    [Fact]
    public void One_pixel_upscales_to_its_own_colour()
    {
        var image = new RgbImage(1, 1, [0, 128, 255]);

        var resized = PillowResize.Resize(image, 3, 2);

        Assert.Equal([0, 128, 255, 0, 128, 255, 0, 128, 255, 0, 128, 255, 0, 128, 255, 0, 128, 255], resized.Pixels);
    }

    [Fact]
    public void A_region_outside_the_image_is_refused()
    {
        var image = new RgbImage(1, 1, [0, 0, 0]);

        Assert.Throws<ArgumentOutOfRangeException>(() => PillowResize.ResizeRegion(image, 4, 4, 2, 0, 3, 1, new byte[9]));
    }
}
