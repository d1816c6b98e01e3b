using System.Collections.Concurrent;
using System.Security.Cryptography;
using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Conversion;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// An empty cache, a <see cref="CheckpointServer"/> as the mirror, and options whose retries and stall
/// timeout take milliseconds; collects what the acquisition writes to ML.NET's log.
/// </summary>
public sealed class AcquisitionFixture : IDisposable
{
    private readonly TemporaryFile cache = new("unused");
    private readonly MLContext mlContext = new(seed: 1);
    private readonly ConcurrentQueue<string> messages = new();

    public AcquisitionFixture()
    {
        mlContext.Log += (_, e) =>
        {
            if (e.Source == AcquisitionLog.ChannelName)
            {
                messages.Enqueue(e.RawMessage);
            }
        };
        Options = new GoodTransferOptions { CacheDirectory = cache.Folder, MirrorUrl = Server.BaseUrl };
    }

    /// <summary>
    /// Fewer attempts, retries after 10-50 ms, progress on every read, and a lock that gives up after 20 s
    /// without progress. The stall timeout stays at 10 s, so that a busy two-core machine never trips it
    /// by accident; the stall test shortens it.
    /// </summary>
    internal static AcquisitionPolicy Fast { get; } = new()
    {
        MaxAttempts = 4,
        FirstRetryDelay = TimeSpan.FromMilliseconds(10),
        MaxRetryDelay = TimeSpan.FromMilliseconds(50),
        StallTimeout = TimeSpan.FromSeconds(10),
        ProgressInterval = TimeSpan.Zero,
        LockPatience = TimeSpan.FromSeconds(20),
        LockPollInterval = TimeSpan.FromMilliseconds(20),
    };

    /// <summary>A real MoCo v2-layout checkpoint (750 KB), served under the catalog's file name.</summary>
    public static byte[] Checkpoint { get; } = File.ReadAllBytes(FixtureManifest.PathOf("checkpoints/bottleneck_moco_v2.pth"));

    public static string CheckpointSha256 { get; } = Convert.ToHexString(SHA256.HashData(Checkpoint)).ToLowerInvariant();

    public static Backbone Backbone => Backbone.MocoV2ImageNet;

    public CheckpointServer Server { get; } = new();

    public GoodTransferOptions Options { get; }

    /// <summary>The timing <see cref="Resolve"/> uses: <see cref="Fast"/> unless a test changes it.</summary>
    internal AcquisitionPolicy Policy { get; set; } = Fast;

    public string CacheFolder => cache.Folder;

    public string Target => Path.Combine(cache.Folder, "checkpoints", Backbone.FileName);

    public string Url => Server.BaseUrl + Backbone.FileName;

    public IReadOnlyList<string> Messages => [.. messages];

    public IReadOnlyList<ServedRequest> Requests => Server.Requests(Backbone.FileName);

    /// <summary>Every file in the cache but the lock files, which stay by design (see CacheLock).</summary>
    public IReadOnlyList<string> CachedFiles =>
        [.. Directory.EnumerateFiles(cache.Folder, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(Path.GetDirectoryName(f)) != "locks")
            .Select(f => Path.GetRelativePath(cache.Folder, f))];

    public void Serve(ServerFaults? faults = null) => Server.Add(Backbone.FileName, Checkpoint, faults);

    internal ResolvedCheckpoint Resolve(Backbone? backbone = null, GoodTransferOptions? options = null)
    {
        using var log = AcquisitionLog.For(mlContext.Transforms);
        var settings = FeaturizerSettings.From(options ?? Options, Policy);
        return CheckpointStore.Resolve(backbone ?? Backbone, settings.Acquisition, log, BackboneConverter.ValidateCheckpoint);
    }

    public void Dispose()
    {
        Server.Dispose();
        cache.Dispose();
    }
}

/// <summary>An <see cref="IProgress{T}"/> that keeps every report, on the reporting thread (unlike <see cref="Progress{T}"/>, which posts).</summary>
public sealed class RecordingProgress : IProgress<DownloadProgress>
{
    private readonly ConcurrentQueue<DownloadProgress> reports = new();

    public IReadOnlyList<DownloadProgress> Reports => [.. reports];

    public void Report(DownloadProgress value) => reports.Enqueue(value);
}
