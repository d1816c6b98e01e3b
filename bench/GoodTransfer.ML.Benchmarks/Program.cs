using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GoodTransfer.ML;
using static BenchProcess;

// Conversion benchmark: a full-size ResNet-50 checkpoint to ONNX, timed and measured in fresh
// processes, against PyTorch's own torch.load + torch.onnx.export on the same file in the same run.
//
//   dotnet run -c Release --project bench/GoodTransfer.ML.Benchmarks [-- --runs 5 --checkpoint r50.pth]
//
// With no checkpoint, one is made with Debian's python3-torch (bench/pytorch/make_resnet50_checkpoint.py).
//
//   ... -- --throughput [--images 64 --passes 3]   images/s of the featurizer from paths, LoadImages and bytes, float32
//                                                  and int8, raw ONNX Runtime on both graphs, stock ML.NET, and the
//                                                  first Fit's conversion time, in one run; with --steady each
//                                                  featurizer is timed on its second pass (its session warm); with
//                                                  --precision Int8 (or Float32) only that precision's pairs of a raw
//                                                  run and a featurizer run, for many passes (--passes 40); last,
//                                                  the bound by arithmetic (preprocessing against the network)
//   ... -- --soak 10000 [--checkpoint small.pth]   working set while featurizing that many images
//   ... -- --second-fit [--runs 5]                 a first Fit from a local mirror (download, conversion), then
//                                                  second Fits in fresh processes and in the same process, each
//                                                  timed to its first feature (SecondFitBenchmark.cs)
//   ... -- --memory-per-worker [--workers 1,2,4,8 --images 64]
//                                                  peak resident set of the CPU path by worker count (CpuThreads),
//                                                  one fresh process each (MemoryPerWorker.cs)
//   ... -- --int8 [--passes 7 --images 32]         raw ONNX Runtime images/s of the float32 and int8 graphs, batch 1 and 8
//   ... -- --batch-sizes [--sizes 1,8,16,32 --images 64 --passes 3]
//                                                  raw ONNX Runtime images/s of the float32 graph by batch size, one
//                                                  single-threaded run per core and one run on every core (BatchSizes.cs)
//   ... -- --preprocess [--images 64 --passes 5]   milliseconds per image of decoding, resizing and the tensor, on one core
//          [--photos DIR]                         (the JPEGs of DIR instead of the test fixtures')
//   dotnet run -c Release -p:Gpu=true --project bench/GoodTransfer.ML.Benchmarks -- --gpu [--device 0 --batch 64 --images 512 --passes 3]
//                                                  on a CUDA machine: raw ONNX Runtime and the featurizer in float32 and
//                                                  float16, and the CPU's decoding rate (GpuThroughput.cs)

if (args.Length > 0 && args[0] == SecondFitBenchmark.FitTwiceMode)
{
    return SecondFitBenchmark.FitTwice(args[1], args[2], args[3]);
}

if (args.Length > 0 && args[0] == MemoryPerWorker.ChildMode)
{
    return MemoryPerWorker.Child(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), args[4], int.Parse(args[5], CultureInfo.InvariantCulture));
}

if (args.Length > 0 && args[0] == "--convert-once")
{
    // Child mode: one conversion in a fresh process; prints seconds and this process's peak RSS.
    var clock = Stopwatch.StartNew();
    Backbone.FromFile(args[1]).ExportOnnx(args[2]);
    var seconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine(JsonSerializer.Serialize(new { seconds, peak_rss_mb = PeakRssMegabytes() }));
    return 0;
}

var runs = IntOption("--runs", 5);
var work = Directory.CreateTempSubdirectory("goodtransfer-bench-");
var repo = FindRepositoryRoot();
var python = Environment.GetEnvironmentVariable("GOODTRANSFER_PYTHON") ?? "/usr/bin/python3";
var checkpoint = StringOption("--checkpoint") ?? Path.Combine(work.FullName, "resnet50.pth");
if (!File.Exists(checkpoint))
{
    Console.WriteLine("Making a full-size ResNet-50 checkpoint with PyTorch...");
    Run(python, Path.Combine(repo, "bench/pytorch/make_resnet50_checkpoint.py"), checkpoint);
}

if (args.Contains("--int8"))
{
    // The fixture JPEGs in name order: the first half calibrates, the second half is held out for the cosine check.
    var photos = Directory.GetFiles(Path.Combine(repo, "tests/GoodTransfer.ML.Tests/Fixtures/images"), "*.jpg").Order().ToList();
    Int8Throughput.Run(checkpoint, photos, IntOption("--passes", 7), IntOption("--images", 32), work.FullName);
    work.Delete(recursive: true);
    return 0;
}

if (args.Contains("--batch-sizes"))
{
    var sizes = (StringOption("--sizes") ?? "1,8,16,32").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
    BatchSizes.Run(checkpoint, sizes, IntOption("--images", 64), IntOption("--passes", 3), work.FullName);
    work.Delete(recursive: true);
    return 0;
}

if (args.Contains("--preprocess"))
{
    var count = IntOption("--images", 64);
    PreprocessingCost.Run(StringOption("--photos") is { } folder ? Photos(folder, count) : TestPhotos(repo, count), IntOption("--passes", 5));
    return 0;
}

if (args.Contains("--gpu"))
{
    GpuThroughput.Run(checkpoint, TestPhotos(repo, 64), IntOption("--device", 0), IntOption("--batch", 64), IntOption("--images", 512), IntOption("--passes", 3), work.FullName);
    work.Delete(recursive: true);
    return 0;
}

if (args.Contains("--throughput") || args.Contains("--soak"))
{
    var photos = TestPhotos(repo, IntOption("--images", 64));
    if (args.Contains("--soak"))
    {
        Throughput.Soak(checkpoint, photos, IntOption("--soak", 10_000), work.FullName);
    }
    else
    {
        Precision? only = StringOption("--precision") is { } precision ? Enum.Parse<Precision>(precision, ignoreCase: true) : null;
        Throughput.Run(checkpoint, photos, IntOption("--passes", 3), work.FullName, steady: args.Contains("--steady"), only);
    }

    work.Delete(recursive: true);
    return 0;
}

var (self, selfArgs) = Self();
if (args.Contains("--memory-per-worker"))
{
    var counts = (StringOption("--workers") ?? "1,2,4,8").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToList();
    MemoryPerWorker.Run(self, selfArgs, checkpoint, TestPhotos(repo, IntOption("--images", 64)), counts, work.FullName);
    work.Delete(recursive: true);
    return 0;
}

if (args.Contains("--second-fit"))
{
    var image = Path.Combine(repo, "tests/GoodTransfer.ML.Tests/Fixtures/images/chelsea_333x500.jpg");
    SecondFitBenchmark.Run(self, selfArgs, checkpoint, image, runs);
    work.Delete(recursive: true);
    return 0;
}

var fileMb = new FileInfo(checkpoint).Length / 1e6;
var onnx = Path.Combine(work.FullName, "resnet50.onnx");

var ours = new List<(double Seconds, double PeakMb)>();
for (var i = 0; i < runs; i++)
{
    var result = JsonDocument.Parse(Run(self, [.. selfArgs, "--convert-once", checkpoint, onnx]).Trim().Split('\n')[^1]).RootElement;
    ours.Add((result.GetProperty("seconds").GetDouble(), result.GetProperty("peak_rss_mb").GetDouble()));
}

// In-process: the cost once the runtime is warm (what a long-running service pays).
Backbone.FromFile(checkpoint).ExportOnnx(onnx);
var warm = new List<double>();
for (var i = 0; i < runs; i++)
{
    var clock = Stopwatch.StartNew();
    Backbone.FromFile(checkpoint).ExportOnnx(onnx);
    warm.Add(clock.Elapsed.TotalSeconds);
}

var torch = new List<(double Seconds, double PeakMb)>();
for (var i = 0; i < Math.Min(runs, 3); i++)
{
    var result = JsonDocument.Parse(Run(python, Path.Combine(repo, "bench/pytorch/baseline.py"), checkpoint, Path.Combine(work.FullName, "torch.onnx")).Trim().Split('\n')[^1]).RootElement;
    torch.Add((result.GetProperty("total_s").GetDouble(), result.GetProperty("peak_rss_mb").GetDouble()));
}

var ourTime = Median(ours.Select(r => r.Seconds));
var ourPeak = Median(ours.Select(r => r.PeakMb));
var warmTime = Median(warm);
var torchTime = Median(torch.Select(r => r.Seconds));
var torchPeak = Median(torch.Select(r => r.PeakMb));
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Machine: {CpuName()}, {Environment.ProcessorCount} cores, .NET {Environment.Version}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Checkpoint: full-size ResNet-50, {fileMb:F1} MB; medians of {runs} runs (PyTorch: {torch.Count})"));
Console.WriteLine();
Console.WriteLine("| conversion to ONNX | seconds | peak memory (MB) | peak / file size |");
Console.WriteLine("|---|---|---|---|");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| GoodTransfer.ML, fresh process (JIT included) | {ourTime:F2} | {ourPeak:F0} | {ourPeak / fileMb:F2}x |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| GoodTransfer.ML, warm process | {warmTime:F2} | | |"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| PyTorch 1.13 torch.load + torch.onnx.export | {torchTime:F2} | {torchPeak:F0} | {torchPeak / fileMb:F2}x |"));
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Speed-up over PyTorch: {torchTime / ourTime:F1}x (fresh process), {torchTime / warmTime:F1}x (warm)."));
work.Delete(recursive: true);
return 0;

// The real JPEG photos of the tests, repeated to the count asked for.
static List<string> TestPhotos(string repo, int count) => Photos(Path.Combine(repo, "tests/GoodTransfer.ML.Tests/Fixtures/images"), count);

// The JPEGs of a folder, repeated to the count asked for.
static List<string> Photos(string folder, int count)
{
    var jpegs = Directory.GetFiles(folder, "*.jpg").Order().ToArray();
    return Enumerable.Range(0, count).Select(i => jpegs[i % jpegs.Length]).ToList();
}

int IntOption(string name, int fallback) =>
    StringOption(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

string? StringOption(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

