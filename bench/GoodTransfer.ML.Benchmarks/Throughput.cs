using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

/// <summary>
/// Throughput of featurizing JPEG photos with a full-size ResNet-50 from each input path (paths, LoadImages in
/// front, encoded bytes), float32 and int8, in one process, against raw ONNX Runtime on the same graph and
/// against the stock ML.NET pipeline; and a memory soak.
/// </summary>
internal static class Throughput
{
    private const int Size = 224;
    private const int TensorLength = 3 * Size * Size;

    /// <summary>Passes of the preprocessing that the bound is timed over, and of the raw runs a <c>--precision</c> run adds for it.</summary>
    private const int BoundPasses = 5;

    /// <summary>
    /// Prints, from one process: images per second (medians of <paramref name="passes"/> passes over
    /// <paramref name="images"/>) of the featurizer, raw ONNX Runtime on the same graph, the stock ML.NET
    /// pipeline and int8, with their ratios, and how long the first Fit's conversion took.
    /// </summary>
    /// <param name="checkpoint">The ResNet-50 checkpoint.</param>
    /// <param name="images">The JPEG photos, repeated to the count asked for.</param>
    /// <param name="passes">Passes over every measurement; each figure is the median.</param>
    /// <param name="work">A scratch folder for the cache.</param>
    /// <param name="steady">Whether each featurizer is timed on its second pass over the data rather than its first (the first run of a new session pays its warm-up, which the raw figures leave out).</param>
    /// <param name="only">
    /// One precision's pairs alone (each featurizer run against a raw run of its precision just before it), without the
    /// table's other rows: what many passes, and so a narrow interval around the paired ratios, can afford.
    /// </param>
    public static void Run(string checkpoint, IReadOnlyList<string> images, int passes, string work, bool steady, Precision? only = null)
    {
        if (only is not (null or Precision.Float32 or Precision.Int8))
        {
            throw new ArgumentException($"--precision takes Float32 or Int8, not {only}.", nameof(only));
        }

        var cache = Path.Combine(work, "cache");
        var options = new GoodTransferOptions { CacheDirectory = cache, CpuThreads = Environment.ProcessorCount };
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(images.Select(p => new PathRow { Path = p }).ToArray());
        var backbone = Backbone.FromFile(checkpoint);

        // Fit once on an empty cache: reads and converts the checkpoint, caches both ONNX forms and opens
        // the session; their paths are what the other runs use.
        var clock = Stopwatch.StartNew();
        using (mlContext.Transforms.GoodTransferFeaturize(backbone, inputColumnName: "Path", options: options).Fit(data))
        {
        }

        var fitSeconds = clock.Elapsed.TotalSeconds;
        var models = Directory.GetFiles(Path.Combine(cache, "onnx"));
        var batched = models.Single(f => f.EndsWith("layer4-batch.onnx", StringComparison.Ordinal));
        var single = models.Single(f => f.EndsWith("layer4-single.onnx", StringComparison.Ordinal));

        // int8, calibrated on the first half of the distinct photos.
        var distinct = images.Distinct().Order(StringComparer.Ordinal).ToList();
        var int8Options = new GoodTransferOptions { CacheDirectory = cache, CpuThreads = Environment.ProcessorCount, Precision = Precision.Int8, CalibrationImages = distinct.Take(Math.Max(1, distinct.Count / 2)).ToList() };
        clock.Restart();
        using (mlContext.Transforms.GoodTransferFeaturize(backbone, inputColumnName: "Path", options: int8Options).Fit(data))
        {
        }

        var int8FitSeconds = clock.Elapsed.TotalSeconds;
        var int8Batched = Directory.GetFiles(Path.Combine(cache, "onnx"), "*-int8*-batch.onnx").Single();

        // The three input paths a user has: paths, LoadImages in front (the quick start's), encoded bytes in memory.
        var loaded = mlContext.Transforms.LoadImages("Image", null, "Path").Fit(data).Transform(data);
        var bytes = mlContext.Data.LoadFromEnumerable(images.Select(p => new BytesRow { Bytes = File.ReadAllBytes(p) }).ToArray());
        var inputs = new (string Name, IDataView Data, string Column)[] { ("paths", data, "Path"), ("LoadImages", loaded, "Image"), ("bytes", bytes, "Bytes") };

        // Every measurement runs once per pass, in turn, so that a shared machine's load falls on all of them
        // alike; each figure is the median over the passes. Each featurizer run also follows a raw run of its own
        // precision, just before it: the median of those pairs' ratios is what a host whose speed drifts between
        // minutes disturbs least.
        var timed = $"each featurizer timed on its {(steady ? "second pass (--steady)" : "first pass after Fit")}, JPEGs decoded by {GoodTransfer.ML.Imaging.TurboJpeg.Status}";
        var machine = Invariant($"Machine: {BenchProcess.CpuName()}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, ONNX Runtime {typeof(InferenceSession).Assembly.GetName().Version}");

        // For each input, a raw run on the model (batch 8, every core) and then the featurizer with these options.
        Func<double>[] PairsOf(string model, GoodTransferOptions featurizerOptions) =>
            [.. inputs.SelectMany(i => new Func<double>[] { () => RawOrt(model, images.Count, 8), () => FeaturizeFrom(mlContext, backbone, featurizerOptions, i.Data, i.Column, images.Count, steady) })];
        static List<(List<double> Raw, List<double> Ours)> Paired(IEnumerable<List<double>> runs) =>
            [.. runs.Chunk(2).Select(pair => (Raw: pair[0], Ours: pair[1]))];

        if (only is { } precision)
        {
            var (onlyModel, onlyOptions, label) = precision == Precision.Int8 ? (int8Batched, int8Options, "int8") : (batched, options, "float32");
            var onlyPairs = Paired(AlternatingPasses(passes, PairsOf(onlyModel, onlyOptions)));
            var perCoreAndRaw = Alternating(BoundPasses, [() => RawOrtPerCore(onlyModel, images.Count, 8), () => RawOrt(onlyModel, images.Count, 8)]);
            Console.WriteLine();
            Console.WriteLine(machine);
            Console.WriteLine(Invariant($"{precision} alone, ResNet-50 at 224x224, {images.Count} JPEG files, {passes} passes, {timed}; each featurizer run against a raw run (batch 8, every core) just before it:"));
            for (var i = 0; i < inputs.Length; i++)
            {
                var (rawRates, ourRates) = onlyPairs[i];
                Console.WriteLine(Invariant($"  from {inputs[i].Name}: raw {MedianOf(rawRates):F1}, featurizer {MedianOf(ourRates):F1} images/s (medians); paired ratio {PairedRatio(rawRates, ourRates)}; ratios {string.Join(" ", ourRates.Zip(rawRates, (o, r) => (o / r).ToString("F2", CultureInfo.InvariantCulture)))}"));
            }

            Console.WriteLine(ArithmeticBounds(images, BoundPasses, (label, perCoreAndRaw[0], perCoreAndRaw[1])));
            return;
        }

        Func<double>[] raws = [
            () => RawOrt(batched, images.Count, 1),
            () => RawOrt(batched, images.Count, 8),
            () => RawOrt(int8Batched, images.Count, 8),
            () => RawOrtPerCore(batched, images.Count, 8),
            () => RawOrtPerCore(int8Batched, images.Count, 8),
        ];
        var runs = AlternatingPasses(passes, [.. raws, .. PairsOf(batched, options), .. PairsOf(int8Batched, int8Options)]);
        var (raw1, raw8, rawInt8, perCore, perCoreInt8) = (MedianOf(runs[0]), MedianOf(runs[1]), MedianOf(runs[2]), MedianOf(runs[3]), MedianOf(runs[4]));
        var pairs = Paired(runs[raws.Length..]);
        var featurized = pairs.Select(pair => MedianOf(pair.Ours)).ToArray();
        var paired = pairs.Select(pair => PairedRatio(pair.Raw, pair.Ours)).ToArray();
        var ours = featurized[..inputs.Length];
        var oursInt8 = featurized[inputs.Length..];
        var stock = StockPipeline(mlContext, data, single, images.Count, passes);
        Console.WriteLine();
        Console.WriteLine(machine);
        Console.WriteLine(Invariant($"Throughput, ResNet-50 at 224x224, {images.Count} JPEG files, {Environment.ProcessorCount} threads, medians of {passes} passes (images/s), {timed}:"));
        Console.WriteLine();
        Console.WriteLine("| pipeline | images/s | vs raw ONNX Runtime, same graph, batch 8 |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine(Invariant($"| raw ONNX Runtime, float32 graph, tensors only, batch 1 | {raw1:F1} | {raw1 / raw8:F2} |"));
        Console.WriteLine(Invariant($"| raw ONNX Runtime, float32 graph, tensors only, batch 8 | {raw8:F1} | 1.00 |"));
        Console.WriteLine(Invariant($"| raw ONNX Runtime, float32 graph, tensors only, batch 8, one single-threaded run per core | {perCore:F1} | {perCore / raw8:F2} |"));
        for (var i = 0; i < inputs.Length; i++)
        {
            Console.WriteLine(Invariant($"| GoodTransferFeaturize float32, from {inputs[i].Name}, batch 8 | {ours[i]:F1} | {ours[i] / raw8:F2} |"));
        }

        Console.WriteLine(Invariant($"| stock ML.NET: LoadImages, ResizeImages, ExtractPixels, ApplyOnnxModel | {stock:F1} | {stock / raw8:F2} |"));
        Console.WriteLine(Invariant($"| raw ONNX Runtime, int8 graph, tensors only, batch 8 | {rawInt8:F1} | 1.00 ({rawInt8 / raw8:F2} of float32) |"));
        Console.WriteLine(Invariant($"| raw ONNX Runtime, int8 graph, tensors only, batch 8, one single-threaded run per core | {perCoreInt8:F1} | {perCoreInt8 / rawInt8:F2} |"));
        for (var i = 0; i < inputs.Length; i++)
        {
            Console.WriteLine(Invariant($"| GoodTransferFeaturize int8, from {inputs[i].Name}, batch 8 | {oursInt8[i]:F1} | {oursInt8[i] / rawInt8:F2} |"));
        }

        Console.WriteLine();
        Console.WriteLine(Invariant($"Featurizer / raw ONNX Runtime on the same graph, paths, LoadImages, bytes: float32 {string.Join(", ", ours.Select(o => (o / raw8).ToString("F2", CultureInfo.InvariantCulture)))}; int8 {string.Join(", ", oursInt8.Select(o => (o / rawInt8).ToString("F2", CultureInfo.InvariantCulture)))}."));
        Console.WriteLine(Invariant($"Each featurizer run against a raw run of its precision just before it, median of the {passes} pairs' ratios (and an interval for it), paths, LoadImages, bytes: float32 {string.Join(", ", paired[..inputs.Length])}; int8 {string.Join(", ", paired[inputs.Length..])}."));
        Console.WriteLine(Invariant($"The raw runs of those pairs (medians, images/s): float32 {string.Join(" / ", pairs[..inputs.Length].Select(pair => MedianOf(pair.Raw).ToString("F1", CultureInfo.InvariantCulture)))} against the table's {raw8:F1}; int8 {string.Join(" / ", pairs[inputs.Length..].Select(pair => MedianOf(pair.Raw).ToString("F1", CultureInfo.InvariantCulture)))} against {rawInt8:F1}."));
        Console.WriteLine(Invariant($"First Fit on an empty cache (read, convert, write both ONNX forms, open the session): {fitSeconds:F2} s; int8 Fit (also calibrates on {int8Options.CalibrationImages.Count} photos and quantizes): {int8FitSeconds:F2} s."));
        var (firstFloat, laterFloat) = FirstRuns(batched, 8);
        var (firstInt8, laterInt8) = FirstRuns(int8Batched, 8);
        Console.WriteLine(Invariant($"A new single-threaded session's first batch of 8 on each core at once, then the mean of the next three: float32 {firstFloat:F0} then {laterFloat:F0} ms, int8 {firstInt8:F0} then {laterInt8:F0} ms."));
        Console.WriteLine(ArithmeticBounds(images, passes, ("float32", perCore, raw8), ("int8", perCoreInt8, rawInt8)));
    }

    /// <summary>
    /// The most the featurizer can reach by arithmetic, for each precision: each core runs the network (one single-threaded
    /// run per core, <c>PerCore</c> images/s on all of them) and preprocesses every photo it runs (a JPEG file to its tensor,
    /// measured here on one core), so it reaches at most network / (network + preprocessing) of that run, and that times
    /// PerCore / Raw of the raw run on every core that the table's ratios divide by. A ratio near its bound is the arithmetic;
    /// one well below it is a stall.
    /// </summary>
    /// <param name="images">The photos whose preprocessing is timed.</param>
    /// <param name="networkPasses">How many passes the network figures are medians of.</param>
    /// <param name="networks">Each precision's images/s, one single-threaded run per core and one run on every core.</param>
    private static string ArithmeticBounds(IReadOnlyList<string> images, int networkPasses, params (string Precision, double PerCore, double Raw)[] networks)
    {
        var preprocessing = PreprocessingCost.FileToTensorMilliseconds(images, BoundPasses);
        var bounds = networks.Select(n =>
        {
            var network = Environment.ProcessorCount * 1000 / n.PerCore;
            var bound = network / (network + preprocessing);
            return Invariant($"{n.Precision} at most {bound:F2} of one single-threaded run per core ({network:F1} ms of network a photo on a core) and {bound * n.PerCore / n.Raw:F2} of the raw run on every core (which ran at {n.Raw / n.PerCore:F2} of one run per core, {n.Raw:F1} against {n.PerCore:F1} images/s, medians of {networkPasses} passes)");
        });
        return Invariant($"Bound by arithmetic, a JPEG file to its tensor taking {preprocessing:F2} ms on one core (median of {BoundPasses} passes over these photos): {string.Join("; ", bounds)}.");
    }

    /// <summary>Featurizes <paramref name="count"/> images, printing the working set every 1,000 and the peak.</summary>
    public static void Soak(string checkpoint, IReadOnlyList<string> images, int count, string work)
    {
        var mlContext = new MLContext(seed: 1);
        var paths = Enumerable.Range(0, count).Select(i => new PathRow { Path = images[i % images.Count] }).ToArray();
        var data = mlContext.Data.LoadFromEnumerable(paths);
        var options = new GoodTransferOptions { CacheDirectory = Path.Combine(work, "cache") };
        // The canonical pipeline: ML.NET's image loader in front, so every MLImage it hands out must be released.
        var featurizer = mlContext.Transforms.LoadImages("Image", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(Backbone.FromFile(checkpoint), options: options))
            .Fit(data);
        var output = featurizer.Transform(data);
        using var cursor = output.GetRowCursor([output.Schema["Features"]]);
        var getter = cursor.GetGetter<VBuffer<float>>(output.Schema["Features"]);
        var features = default(VBuffer<float>);
        var clock = Stopwatch.StartNew();
        using var process = Process.GetCurrentProcess();
        Console.WriteLine("| images | working set (MB) | managed heap (MB) |");
        Console.WriteLine("|---|---|---|");
        while (cursor.MoveNext())
        {
            getter(ref features);
            if ((cursor.Position + 1) % 1000 == 0)
            {
                process.Refresh();
                Console.WriteLine(Invariant($"| {cursor.Position + 1} | {process.WorkingSet64 / 1e6:F0} | {GC.GetTotalMemory(false) / 1e6:F0} |"));
            }
        }

        process.Refresh();
        Console.WriteLine(Invariant($"{count} images in {clock.Elapsed.TotalSeconds:F1} s; peak working set {process.PeakWorkingSet64 / 1e6:F0} MB"));
    }

    /// <summary>Images per second of one session on every core (the intra-op threads) over <paramref name="images"/> images in batches of <paramref name="batch"/>, after one warm-up run.</summary>
    internal static double RawOrt(string model, int images, int batch)
    {
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        return RawImagesPerSecond(session, batch, images);
    }

    /// <summary>
    /// Images per second of one single-threaded session run by one thread per core at once, each on a batch of
    /// its own (as the featurizer runs on the CPU), after one warm-up run on each: the network alone.
    /// </summary>
    internal static double RawOrtPerCore(string model, int images, int batch)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        var cores = Environment.ProcessorCount;
        var started = new Barrier(cores + 1);
        var next = 0;
        var threads = Enumerable.Range(0, cores).Select(_ => new Thread(() =>
        {
            using var runOptions = new RunOptions();
            using var value = WarmedUpInput(session, runOptions, batch);
            started.SignalAndWait();
            while (Interlocked.Add(ref next, batch) <= images)
            {
                using var result = session.Run(runOptions, ["image"], [value], ["features"]);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        started.SignalAndWait();
        var clock = Stopwatch.StartNew();
        threads.ForEach(t => t.Join());
        var seconds = clock.Elapsed.TotalSeconds;
        started.Dispose();
        return images / batch * batch / seconds;
    }

    /// <summary>
    /// Milliseconds of a new single-threaded session's first run and of its next three (mean), on one thread per core
    /// at once, as the featurizer's workers make them: what a featurizer's first batches pay beyond the steady state.
    /// </summary>
    private static (double First, double Later) FirstRuns(string model, int batch)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        using var session = new InferenceSession(model, options);
        var cores = Environment.ProcessorCount;
        var times = new double[cores][];
        var threads = Enumerable.Range(0, cores).Select(core => new Thread(() =>
        {
            using var runOptions = new RunOptions();
            using var value = SyntheticBatch(batch);
            times[core] = [.. Enumerable.Range(0, 4).Select(_ =>
            {
                var clock = Stopwatch.StartNew();
                using (session.Run(runOptions, ["image"], [value], ["features"]))
                {
                    return clock.Elapsed.TotalMilliseconds;
                }
            })];
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return (times.Average(t => t[0]), times.Average(t => t[1..].Average()));
    }

    /// <summary>Images per second of a session on a synthetic batch, after one warm-up run: the network alone.</summary>
    internal static double RawImagesPerSecond(InferenceSession session, int batch, int images)
    {
        using var runOptions = new RunOptions();
        using var value = WarmedUpInput(session, runOptions, batch);

        var clock = Stopwatch.StartNew();
        var done = 0;
        while (done < images)
        {
            using var result = session.Run(runOptions, ["image"], [value], ["features"]);
            done += batch;
        }

        return done / clock.Elapsed.TotalSeconds;
    }

    /// <summary>A synthetic batch of <paramref name="batch"/> images, run once on this thread: first-run allocations are not throughput.</summary>
    private static OrtValue WarmedUpInput(InferenceSession session, RunOptions runOptions, int batch)
    {
        var value = SyntheticBatch(batch);
        using (session.Run(runOptions, ["image"], [value], ["features"]))
        {
            return value;
        }
    }

    /// <summary>A batch of <paramref name="batch"/> images of fixed, varied values, as the network's input tensor.</summary>
    private static OrtValue SyntheticBatch(int batch)
    {
        var input = new float[batch * TensorLength];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (i % 251) / 251f;
        }

        return OrtValue.CreateTensorValueFromMemory(input, [batch, 3, Size, Size]);
    }

    /// <summary>Fits the featurizer on one input path (from the cache: nothing is converted) and times one pass over it: the first, or with <paramref name="steady"/> the second.</summary>
    private static double FeaturizeFrom(MLContext mlContext, Backbone backbone, GoodTransferOptions options, IDataView data, string column, int expected, bool steady)
    {
        using var featurizer = mlContext.Transforms.GoodTransferFeaturize(backbone, inputColumnName: column, options: options).Fit(data);
        if (steady)
        {
            Featurize(featurizer.Transform(data), expected);
        }

        return Featurize(featurizer.Transform(data), expected);
    }

    internal static double Featurize(IDataView output, int expected)
    {
        var clock = Stopwatch.StartNew();
        var rows = 0;
        using (var cursor = output.GetRowCursor([output.Schema["Features"]]))
        {
            var getter = cursor.GetGetter<VBuffer<float>>(output.Schema["Features"]);
            var features = default(VBuffer<float>);
            while (cursor.MoveNext())
            {
                getter(ref features);
                rows++;
            }
        }

        if (rows != expected)
        {
            throw new InvalidOperationException($"featurized {rows} rows, expected {expected}");
        }

        return rows / clock.Elapsed.TotalSeconds;
    }

    private static double StockPipeline(MLContext mlContext, IDataView data, string singleImageModel, int count, int passes)
    {
        // What an ML.NET user writes without this library: ML.NET's own resize and pixel extraction
        // (not torchvision's preprocessing), then OnnxTransformer, one image per call.
        using var model = (IDisposable)mlContext.Transforms.LoadImages("Loaded", null, "Path")
            .Append(mlContext.Transforms.ResizeImages("Resized", Size, Size, "Loaded"))
            .Append(mlContext.Transforms.ExtractPixels("goodtransfer_pixels", "Resized", scaleImage: 1f / 255))
            .Append(mlContext.Transforms.ApplyOnnxModel("goodtransfer_features", "goodtransfer_pixels", singleImageModel))
            .Fit(data);
        var transformer = (ITransformer)model;
        return Median(passes, () =>
        {
            var output = transformer.Transform(data);
            var clock = Stopwatch.StartNew();
            var column = output.Schema["goodtransfer_features"];
            using var cursor = output.GetRowCursor([column]);
            var getter = cursor.GetGetter<VBuffer<float>>(column);
            var features = default(VBuffer<float>);
            var rows = 0;
            while (cursor.MoveNext())
            {
                getter(ref features);
                rows++;
            }

            return rows == count ? rows / clock.Elapsed.TotalSeconds : throw new InvalidOperationException("row count");
        });
    }

    /// <summary>The median of each measurement over <paramref name="passes"/> passes that run them all in turn, after one warm-up of each.</summary>
    internal static double[] Alternating(int passes, IReadOnlyList<Func<double>> measurements) =>
        [.. AlternatingPasses(passes, measurements).Select(MedianOf)];

    /// <summary>Each measurement's value in each of <paramref name="passes"/> passes that run them all in turn, after one warm-up of each.</summary>
    private static List<double>[] AlternatingPasses(int passes, IReadOnlyList<Func<double>> measurements)
    {
        foreach (var measure in measurements)
        {
            measure();
        }

        var values = measurements.Select(_ => new List<double>()).ToArray();
        for (var pass = 0; pass < passes; pass++)
        {
            for (var i = 0; i < measurements.Count; i++)
            {
                values[i].Add(measurements[i]());
            }
        }

        return values;
    }

    private static double MedianOf(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>The median of the pairs' ratios, featurizer to raw, and the distribution-free interval around it, as "0.97 (95 % 0.95-0.99)".</summary>
    private static string PairedRatio(List<double> raw, List<double> ours)
    {
        List<double> ratios = [.. ours.Zip(raw, (o, r) => o / r)];
        var (low, high, coverage) = BenchProcess.MedianInterval(ratios);
        return Invariant($"{MedianOf(ratios):F2} ({coverage * 100:F0} % {low:F2}-{high:F2})");
    }

    /// <summary>The median of <paramref name="passes"/> measurements, after one warm-up.</summary>
    internal static double Median(int passes, Func<double> measure)
    {
        measure();
        var values = Enumerable.Range(0, passes).Select(_ => measure()).Order().ToArray();
        return values[values.Length / 2];
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    internal sealed class PathRow
    {
        public string Path { get; set; } = string.Empty;
    }

    internal sealed class BytesRow
    {
        [VectorType]
        public byte[] Bytes { get; set; } = [];
    }
}
