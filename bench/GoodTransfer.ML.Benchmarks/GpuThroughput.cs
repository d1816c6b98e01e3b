using System.Globalization;
using GoodTransfer.ML;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;

/// <summary>
/// Throughput on a CUDA device: raw ONNX Runtime on the float32 and float16 graphs, the featurizer end to
/// end (JPEG files to features) in both precisions, and how fast the CPU decodes and preprocesses, which
/// bounds the end-to-end figure. Needs the GPU build: <c>dotnet run -c Release -p:Gpu=true ...</c>.
/// </summary>
internal static class GpuThroughput
{
    public static void Run(string checkpoint, IReadOnlyList<string> photos, int device, int batch, int images, int passes, string work)
    {
        var cache = Path.Combine(work, "cache");
        var mlContext = new MLContext(seed: 1);
        var paths = Enumerable.Range(0, images).Select(i => new Throughput.PathRow { Path = photos[i % photos.Count] }).ToArray();
        var data = mlContext.Data.LoadFromEnumerable(paths);
        var backbone = Backbone.FromFile(checkpoint);
        var rows = new List<(string Name, double ImagesPerSecond)>
        {
            ("CPU decoding and preprocessing alone, all cores", Throughput.Median(passes, () => PreprocessingCost.ParallelImagesPerSecond(paths.Select(p => p.Path).ToList()))),
        };

        foreach (var precision in new[] { Precision.Float32, Precision.Float16 })
        {
            var options = new GoodTransferOptions { CacheDirectory = cache, GpuDeviceId = device, FallbackToCpu = false, BatchSize = batch, Precision = precision };
            using var featurizer = mlContext.Transforms.GoodTransferFeaturize(backbone, inputColumnName: "Path", options: options).Fit(data);
            var model = Directory.GetFiles(Path.Combine(cache, "onnx"), "*-batch.onnx")
                .Single(f => f.Contains("-fp16", StringComparison.Ordinal) == (precision == Precision.Float16));
            using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            sessionOptions.AppendExecutionProvider_CUDA(device);
            using var session = new InferenceSession(model, sessionOptions);
            rows.Add(($"raw ONNX Runtime CUDA, {precision}, batch {batch}, tensors only", Throughput.Median(passes, () => Throughput.RawImagesPerSecond(session, batch, images))));
            rows.Add(($"GoodTransferFeaturize, {precision}, batch {batch}, JPEG files to features", Throughput.Median(passes, () => Throughput.Featurize(featurizer.Transform(data), images))));
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"GPU throughput, ResNet-50 at 224x224, CUDA device {device}, {images} images, {Environment.ProcessorCount} CPU threads, medians of {passes} passes:"));
        Console.WriteLine();
        Console.WriteLine("| pipeline | images/s | vs raw float32 |");
        Console.WriteLine("|---|---|---|");
        var raw32 = rows[1].ImagesPerSecond;
        foreach (var (name, rate) in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {rate:F0} | {rate / raw32:F2} |"));
        }
    }
}
