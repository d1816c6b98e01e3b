using System.Diagnostics;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Acquisition;

/// <summary>
/// A download killed with kill -9 leaves <c>checkpoints/&lt;file&gt;.&lt;guid&gt;.partial</c>, which the next use of
/// that entry deletes even when the checkpoint is cached and nothing is downloaded; a partial file whose
/// download is alive (its process holds the entry's lock) is left alone. The downloads run in
/// GoodTransfer.ML.FitCheck processes against a mirror that stalls them.
/// </summary>
public sealed class KilledDownloadLeftoverTests : IDisposable
{
    private static readonly string[] Images = [.. FeatureFixtures.Manifest.Images.Where(i => i.MLImageExact).Take(2).Select(i => i.FullPath)];

    private readonly AcquisitionFixture fixture = new();
    private readonly TemporaryFile aside = new("unused");
    private readonly MLContext mlContext = new(seed: 1);
    private readonly GoodTransferLog log;
    private readonly IDataView data;

    public KilledDownloadLeftoverTests()
    {
        log = new GoodTransferLog(mlContext);
        data = FeatureFixtures.Paths(mlContext, Images);
    }

    public void Dispose()
    {
        fixture.Dispose();
        aside.Dispose();
    }

    [Fact]
    public void A_partial_file_of_a_download_killed_with_kill_9_is_deleted_by_the_next_use_of_the_cached_entry()
    {
        var before = Fit(offline: false);
        string partial;
        using (var download = StartStalledDownload(out partial))
        {
            download.Kill(entireProcessTree: true);
            Assert.True(download.WaitForExit(FitCheck.Timeout), "the killed process did not exit");
            Assert.Equal(128 + 9, download.ExitCode);
        }

        PutCheckpointBack();
        Assert.True(File.Exists(partial));

        var after = Fit(offline: true);

        Assert.Contains($"Deleted {partial}, left in the cache by an interrupted download or conversion.", log.Infos);
        Assert.False(File.Exists(partial));
        Assert.Equal(["checkpoints/moco_v2_imagenet.pth", "checkpoints/moco_v2_imagenet.pth.sha256"], fixture.CachedFiles.Where(f => f.StartsWith("checkpoints", StringComparison.Ordinal)).Order());
        FeatureFixtures.AssertSameBits(before, after);
    }

    [Fact]
    public void A_partial_file_of_a_live_download_is_not_deleted_while_its_process_holds_the_entry_lock()
    {
        var before = Fit(offline: false);
        string partial;
        using (var download = StartStalledDownload(out partial))
        {
            try
            {
                PutCheckpointBack();

                FeatureFixtures.AssertSameBits(before, Fit(offline: true));

                Assert.False(download.HasExited, "the download ended before the test could use the entry beside it");
                Assert.True(File.Exists(partial), "a live download's partial file was deleted");
                Assert.DoesNotContain(log.Infos, m => m.StartsWith("Deleted ", StringComparison.Ordinal));
            }
            finally
            {
                download.Kill(entireProcessTree: true);
                Assert.True(download.WaitForExit(FitCheck.Timeout), "the killed process did not exit");
            }
        }

        FeatureFixtures.AssertSameBits(before, Fit(offline: true));

        Assert.Contains($"Deleted {partial}, left in the cache by an interrupted download or conversion.", log.Infos);
        Assert.False(File.Exists(partial));
    }

    /// <summary>
    /// Moves the cached checkpoint and its record aside and starts a process that downloads it again from a
    /// mirror that stalls at 40 % for good; returns once its partial file has bytes, with the download still running.
    /// </summary>
    private Process StartStalledDownload(out string partial)
    {
        File.Move(fixture.Target, Path.Combine(aside.Folder, "checkpoint"));
        File.Move(fixture.Target + ".sha256", Path.Combine(aside.Folder, "record"));
        fixture.Serve(new ServerFaults { StallAt = 0.4, StallTimes = int.MaxValue });
        var process = FitCheck.StartFit(fixture.CacheFolder, AcquisitionFixture.Backbone.Name, Images, ["--mirror", fixture.Server.BaseUrl]);
        var folder = Path.GetDirectoryName(fixture.Target)!;
        string? found = null;
        var clock = Stopwatch.StartNew();
        while (found is null && !process.HasExited && clock.Elapsed < FitCheck.Timeout)
        {
            Thread.Sleep(20);
            found = Directory.EnumerateFiles(folder, "*.partial").FirstOrDefault(f => new FileInfo(f).Length > 0);
        }

        if (found is null)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail(process.HasExited ? $"the download ended early: {process.StandardOutput.ReadToEnd()}" : $"no partial file within {FitCheck.Timeout}");
        }

        partial = found;
        return process;
    }

    /// <summary>The cached checkpoint and record back in place, as a finished download leaves them.</summary>
    private void PutCheckpointBack()
    {
        File.Move(Path.Combine(aside.Folder, "record"), fixture.Target + ".sha256");
        File.Move(Path.Combine(aside.Folder, "checkpoint"), fixture.Target);
        fixture.Serve();
    }

    private List<float[]> Fit(bool offline)
    {
        if (!offline)
        {
            fixture.Serve();
        }

        log.Clear();
        var options = new GoodTransferOptions { CacheDirectory = fixture.CacheFolder, MirrorUrl = fixture.Server.BaseUrl, Offline = offline };
        using var model = mlContext.Transforms.GoodTransferFeaturize(AcquisitionFixture.Backbone, inputColumnName: "Path", options: options).Fit(data);
        return FeatureFixtures.Column(model.Transform(data), "Features");
    }
}
