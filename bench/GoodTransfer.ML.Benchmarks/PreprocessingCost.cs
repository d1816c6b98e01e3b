using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML.Imaging;

/// <summary>
/// What preprocessing costs per image on one core: decoding the file, torchvision's Resize(256) and
/// CenterCrop(224) (Pillow's arithmetic), and the float tensor; the featurizer pays this beside the network.
/// The fused lines are TorchvisionTransform.FileToTensor and BytesToTensor, which decode a JPEG only where the
/// resize reads, into pooled memory.
/// </summary>
internal static class PreprocessingCost
{
    public static void Run(IReadOnlyList<string> photos, int passes)
    {
        var encoded = photos.Select(File.ReadAllBytes).ToList();
        var tensor = new float[TorchvisionTransform.ImageNet.TensorLength];
        var decoded = encoded.Select((bytes, i) => ImageDecoder.Decode(bytes, photos[i])).ToList();
        double Time(Action<int> step) => MillisecondsPerPhoto(photos.Count, passes, step);

        var decode = Time(i => ImageDecoder.Decode(encoded[i], photos[i]));
        var decodeSkia = Time(i =>
        {
            using var image = EncodedImage.Open(encoded[i], photos[i], JpegDecoder.Skia);
            image.Decode();
        });
        var resize = Time(i => TorchvisionTransform.ImageNet.ResizeAndCrop(decoded[i]));
        var all = Time(i => TorchvisionTransform.ImageNet.ToTensor(ImageDecoder.Decode(encoded[i], photos[i]), tensor));
        var files = Time(i => TorchvisionTransform.ImageNet.ToTensor(ImageDecoder.DecodeFile(photos[i]), tensor));
        var fusedBytes = Time(i => TorchvisionTransform.ImageNet.BytesToTensor(encoded[i], photos[i], tensor));
        var fusedFiles = FileToTensorMilliseconds(photos, passes);
        var fusedSkia = Time(i =>
        {
            using var image = EncodedImage.Open(encoded[i], photos[i], JpegDecoder.Skia);
            TorchvisionTransform.ImageNet.ToTensor(image, tensor);
        });
        var parallel = Enumerable.Range(0, passes + 1).Select(_ => 1000 / ParallelImagesPerSecond(photos)).Skip(1).Order().ElementAt(passes / 2);
        var fusedParallel = Enumerable.Range(0, passes + 1).Select(_ => 1000 / ParallelImagesPerSecond(photos, TorchvisionTransform.ImageNet.FileToTensor)).Skip(1).Order().ElementAt(passes / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Preprocessing, {photos.Count} photos, JPEGs decoded by {TurboJpeg.Status}, median of {passes} passes (ms per image): on one core: decode {decode:F2} (Skia alone {decodeSkia:F2}), resize and crop {resize:F2}, bytes to tensor {all:F2}, file to tensor {files:F2}, fused bytes to tensor {fusedBytes:F2} (Skia alone {fusedSkia:F2}), fused file to tensor {fusedFiles:F2}; on {Environment.ProcessorCount} cores (Parallel.For): file to tensor {parallel:F2} wall, fused {fusedParallel:F2} wall"));
    }

    /// <summary>
    /// Milliseconds a JPEG file takes to its tensor on one core, as the featurizer's workers preprocess a path
    /// (<see cref="TorchvisionTransform.FileToTensor"/>): the median of <paramref name="passes"/> passes over
    /// <paramref name="photos"/>, after one pass that is not counted.
    /// </summary>
    public static double FileToTensorMilliseconds(IReadOnlyList<string> photos, int passes)
    {
        var tensor = new float[TorchvisionTransform.ImageNet.TensorLength];
        return MillisecondsPerPhoto(photos.Count, passes, i => TorchvisionTransform.ImageNet.FileToTensor(photos[i], tensor));
    }

    /// <summary>Milliseconds a photo of <paramref name="step"/> over photos 0 .. count - 1: the median of <paramref name="passes"/> passes, after one that is not counted.</summary>
    private static double MillisecondsPerPhoto(int count, int passes, Action<int> step) => BenchProcess.Median(Enumerable.Range(0, passes + 1).Select(_ =>
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            step(i);
        }

        return clock.Elapsed.TotalMilliseconds / count;
    }).Skip(1));

    /// <summary>Images per second of file to tensor on every core (Parallel.For), as the featurizer preprocesses.</summary>
    public static double ParallelImagesPerSecond(IReadOnlyList<string> photos) =>
        ParallelImagesPerSecond(photos, static (path, tensor) => TorchvisionTransform.ImageNet.ToTensor(ImageDecoder.DecodeFile(path), tensor));

    private static double ParallelImagesPerSecond(IReadOnlyList<string> photos, TensorOfFile preprocess)
    {
        var clock = Stopwatch.StartNew();
        Parallel.For(0, photos.Count, () => new float[TorchvisionTransform.ImageNet.TensorLength], (i, _, tensor) =>
        {
            preprocess(photos[i], tensor);
            return tensor;
        }, _ => { });
        return photos.Count / clock.Elapsed.TotalSeconds;
    }

    private delegate void TensorOfFile(string path, Span<float> tensor);
}
