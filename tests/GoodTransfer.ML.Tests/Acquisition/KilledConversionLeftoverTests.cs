using System.Diagnostics;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Acquisition;

/// <summary>
/// A conversion killed with kill -9 leaves its unfinished atomic write, <c>onnx/&lt;model&gt;.&lt;guid&gt;.tmp</c>
/// (tens of MB for a full-size ResNet-50), which never counts as cached and is deleted by the next use of the
/// entry, unless a live process holds the entry's lock (its holder may be writing it). The conversions run in
/// GoodTransfer.ML.FitCheck processes, killed while they write.
/// </summary>
public sealed class KilledConversionLeftoverTests : IClassFixture<FullSizeResNet50>, IDisposable
{
    private readonly FullSizeResNet50 resnet;
    private readonly TemporaryFile cache = new("unused");
    private readonly MLContext mlContext = new(seed: 1);
    private readonly GoodTransferLog log;
    private readonly IDataView data;

    public KilledConversionLeftoverTests(FullSizeResNet50 resnet)
    {
        this.resnet = resnet;
        log = new GoodTransferLog(mlContext);
        data = FeatureFixtures.Paths(mlContext, resnet.Images);
    }

    private string OnnxFolder => Path.Combine(cache.Folder, "onnx");

    public void Dispose() => cache.Dispose();

    [Fact]
    public void A_conversion_killed_with_kill_9_leaves_a_tmp_file_that_the_next_Fit_deletes_before_it_converts_again()
    {
        var leftover = KillConversionMidway();

        var features = Fit();

        Assert.Contains($"Deleted {leftover}, left in the cache by an interrupted download or conversion.", log.Infos);
        Assert.False(File.Exists(leftover));
        Assert.Empty(Directory.GetFiles(OnnxFolder, "*.tmp"));
        FeatureFixtures.AssertSameBits(resnet.Features, features);
    }

    [Fact]
    public void A_leftover_whose_entry_lock_is_held_by_a_live_process_is_not_deleted()
    {
        var leftover = KillConversionMidway();

        // The entry as a finished conversion leaves it, beside the leftover.
        foreach (var file in Directory.GetFiles(resnet.CleanOnnxFolder))
        {
            File.Copy(file, Path.Combine(OnnxFolder, Path.GetFileName(file)), overwrite: true);
        }

        var stem = Path.GetFileName(Assert.Single(Directory.GetFiles(OnnxFolder, "*-batch.onnx")))[..^"-batch.onnx".Length];
        var lockPath = Path.Combine(cache.Folder, "locks", stem + ".onnx.lock");
        Assert.True(File.Exists(lockPath), $"the killed conversion took no lock at {lockPath}");
        using (var holder = FitCheck.HoldLock(lockPath))
        {
            try
            {
                FeatureFixtures.AssertSameBits(resnet.Features, Fit());

                Assert.True(File.Exists(leftover), "a leftover was deleted while a live process held its entry's lock");
                Assert.DoesNotContain(log.Infos, m => m.StartsWith("Deleted ", StringComparison.Ordinal));
                Assert.Empty(log.Warnings);
            }
            finally
            {
                holder.StandardInput.WriteLine();
                Assert.True(holder.WaitForExit(FitCheck.Timeout), "the lock-holding process did not let go");
            }
        }

        FeatureFixtures.AssertSameBits(resnet.Features, Fit());

        Assert.Contains($"Deleted {leftover}, left in the cache by an interrupted download or conversion.", log.Infos);
        Assert.False(File.Exists(leftover));
    }

    /// <summary>Starts a conversion in another process, kills it with SIGKILL once its model file is being written, and returns that file.</summary>
    private string KillConversionMidway()
    {
        string? leftover = null;
        using (var child = FitCheck.StartFit(cache.Folder, resnet.CheckpointPath, resnet.Images, ["--offline"]))
        {
            try
            {
                // Some megabytes in: the rest of the model (tens of MB) and the flush to disk are still to come.
                var clock = Stopwatch.StartNew();
                while (leftover is null && !child.HasExited && clock.Elapsed < FitCheck.Timeout)
                {
                    Thread.Sleep(10);
                    leftover = ModelsBeingWritten().FirstOrDefault(f => Length(f) > (4 << 20));
                }

                Assert.True(leftover is not null, child.HasExited
                    ? $"the conversion finished before it could be killed:\n{child.StandardOutput.ReadToEnd()}{child.StandardError.ReadToEnd()}"
                    : $"no model was being written within {FitCheck.Timeout}");
            }
            finally
            {
                child.Kill(entireProcessTree: true);
                Assert.True(child.WaitForExit(FitCheck.Timeout), "the killed process did not exit");
            }

            Assert.Equal(128 + 9, child.ExitCode);
        }

        Assert.True(File.Exists(leftover), $"{leftover} was moved into place before the kill");
        return leftover!;
    }

    private IEnumerable<string> ModelsBeingWritten() =>
        Directory.Exists(OnnxFolder)
            ? Directory.EnumerateFiles(OnnxFolder, "*.onnx.*.tmp").Where(f => !f.Contains(".sha256.", StringComparison.Ordinal))
            : [];

    private static long Length(string file)
    {
        try
        {
            return new FileInfo(file).Length;
        }
        catch (FileNotFoundException)
        {
            // Moved into place between the listing and now.
            return 0;
        }
    }

    private List<float[]> Fit()
    {
        log.Clear();
        using var model = mlContext.Transforms.GoodTransferFeaturize(Backbone.FromFile(resnet.CheckpointPath), inputColumnName: "Path", options: FullSizeResNet50.Options(cache.Folder)).Fit(data);
        return FeatureFixtures.Column(model.Transform(data), "Features");
    }
}
