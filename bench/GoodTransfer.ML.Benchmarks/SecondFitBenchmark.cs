using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using GoodTransfer.ML;
using Microsoft.ML;
using Microsoft.ML.Data;
using static BenchProcess;

/// <summary>
/// How fast a second <c>Fit</c> is once the checkpoint and its ONNX model are cached. A full-size ResNet-50
/// checkpoint is served as <c>moco_v2_imagenet.pth</c> by an HTTP server on 127.0.0.1 standing in for the
/// mirror. A first process fits on an empty cache (download, validation, conversion), then fits again; later
/// processes fit on the warm cache. Each Fit is timed from just before <c>Fit</c> to its first feature, and
/// split at the log message that ends acquisition ("Using the cached ONNX models" or "Converted"): before it,
/// the cache, the download and the conversion; after it, ML.NET's ONNX transformer and the first image.
/// </summary>
internal static class SecondFitBenchmark
{
    public const string FitTwiceMode = "--fit-twice";

    public static void Run(string self, string[] selfArgs, string checkpoint, string image, int runs)
    {
        var cache = Directory.CreateTempSubdirectory("goodtransfer-bench-cache-");
        using var mirror = new Mirror(File.ReadAllBytes(checkpoint), Backbone.MocoV2ImageNet.FileName);
        Fits FitInFreshProcess() => JsonSerializer.Deserialize<Fits>(BenchProcess.Run(self, [.. selfArgs, FitTwiceMode, cache.FullName, mirror.BaseUrl, image]).Trim().Split('\n')[^1])!;

        var empty = FitInFreshProcess();
        var requestsOfFirst = mirror.Requests;
        var warm = Enumerable.Range(0, runs).Select(_ => FitInFreshProcess()).ToList();
        var sameProcess = warm.Select(f => f.Second).Append(empty.Second).ToList();

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Checkpoint: full-size ResNet-50, {new FileInfo(checkpoint).Length / 1e6:F1} MB, from a mirror on 127.0.0.1; warm cache: medians of {runs} fresh processes"));
        Console.WriteLine();
        Console.WriteLine("| Fit of GoodTransferFeaturize(Backbone.MocoV2ImageNet) | to first feature (s) | of which acquisition (s) | process start to first feature (s) |");
        Console.WriteLine("|---|---|---|---|");
        Row("first, empty cache: download, validation, conversion", [empty.First], [empty.SinceStartSeconds]);
        Row("second, fresh process: cached checkpoint (SHA-256 checked) and ONNX model", warm.Select(f => f.First), warm.Select(f => f.SinceStartSeconds));
        Row("second, in the process of an earlier Fit", sameProcess, []);
        Console.WriteLine();
        Console.WriteLine($"Requests to the mirror: {requestsOfFirst} for the first process, {mirror.Requests - requestsOfFirst} for the {runs} later ones.");
        cache.Delete(recursive: true);
    }

    /// <summary>Child mode: two Fits with a path column of one image, each to its first feature; prints the seconds as JSON.</summary>
    public static int FitTwice(string cacheDirectory, string mirrorUrl, string image)
    {
        var mlContext = new MLContext(seed: 1);
        var acquired = Stopwatch.StartNew();
        mlContext.Log += (_, e) =>
        {
            if (e.Source == "GoodTransfer" && (e.RawMessage.StartsWith("Using the cached ONNX model", StringComparison.Ordinal) || e.RawMessage.StartsWith("Converted", StringComparison.Ordinal)))
            {
                acquired.Stop();
            }
        };
        var data = mlContext.Data.LoadFromEnumerable([new PathRow { Path = image }]);
        var options = new GoodTransferOptions { CacheDirectory = cacheDirectory, MirrorUrl = mirrorUrl };
        Fit Once()
        {
            acquired.Restart();
            var clock = Stopwatch.StartNew();
            using var model = mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet, inputColumnName: "Path", options: options).Fit(data);
            var output = model.Transform(data);
            using var cursor = output.GetRowCursor([output.Schema["Features"]]);
            var getter = cursor.GetGetter<VBuffer<float>>(output.Schema["Features"]);
            var features = default(VBuffer<float>);
            cursor.MoveNext();
            getter(ref features);
            return features.Length == 2048
                ? new Fit(clock.Elapsed.TotalSeconds, acquired.Elapsed.TotalSeconds)
                : throw new InvalidOperationException($"expected 2048 features, got {features.Length}");
        }

        var first = Once();
        var sinceStart = (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;
        var second = Once();
        Console.WriteLine(JsonSerializer.Serialize(new Fits(first, second, sinceStart)));
        return 0;
    }

    private static void Row(string what, IEnumerable<Fit> fits, IEnumerable<double> sinceStart)
    {
        var start = Median(sinceStart);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {what} | {Median(fits.Select(f => f.FirstFeatureSeconds)):F2} | {Median(fits.Select(f => f.AcquisitionSeconds)):F2} | {(double.IsNaN(start) ? string.Empty : start.ToString("F2", CultureInfo.InvariantCulture))} |"));
    }

    private sealed record Fit(
        [property: JsonPropertyName("first_feature_s")] double FirstFeatureSeconds,
        [property: JsonPropertyName("acquisition_s")] double AcquisitionSeconds);

    private sealed record Fits(
        [property: JsonPropertyName("first")] Fit First,
        [property: JsonPropertyName("second")] Fit Second,
        [property: JsonPropertyName("since_start_s")] double SinceStartSeconds);

    private sealed class PathRow
    {
        public string Path { get; set; } = string.Empty;
    }

    /// <summary>One file over HTTP on 127.0.0.1, counting requests.</summary>
    private sealed class Mirror : IDisposable
    {
        private readonly HttpListener listener = new();
        private readonly Task loop;
        private int requests;

        public Mirror(byte[] content, string fileName)
        {
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                BaseUrl = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/mirror/";
            }

            listener.Prefixes.Add(BaseUrl);
            listener.Start();
            loop = Task.Run(async () =>
            {
                while (listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                    {
                        return;
                    }

                    Interlocked.Increment(ref requests);
                    using var response = context.Response;
                    if (context.Request.Url!.AbsolutePath.EndsWith("/" + fileName, StringComparison.Ordinal))
                    {
                        response.ContentLength64 = content.Length;
                        await response.OutputStream.WriteAsync(content);
                    }
                    else
                    {
                        response.StatusCode = 404;
                    }
                }
            });
        }

        public string BaseUrl { get; }

        public int Requests => Volatile.Read(ref requests);

        public void Dispose()
        {
            listener.Stop();
            listener.Close();
            loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
