using System.Diagnostics;
using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Acquisition;

/// <summary>
/// Several threads and processes on one empty cache: one download, one file for all; and a process
/// killed mid-download, after which nothing is taken for the checkpoint and the lock is free.
/// The other processes run GoodTransfer.ML.AcquireCheck, which uses only the public API.
/// </summary>
public sealed class ConcurrentAcquisitionTests : IDisposable
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);
    private readonly AcquisitionFixture fixture = new();
    private readonly TemporaryFile outputs = new("unused");

    public void Dispose()
    {
        fixture.Dispose();
        outputs.Dispose();
    }

    [Fact]
    public async Task Threads_and_processes_that_ask_together_on_an_empty_cache_download_once_and_get_the_same_file()
    {
        // About a second to serve, so that every one of them asks while the download runs.
        fixture.Serve(new ServerFaults { ChunkDelay = TimeSpan.FromMilliseconds(20) });
        var processes = new List<Process>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                processes.Add(StartAcquireCheck($"process{i}.onnx", "--wait"));
            }

            foreach (var process in processes)
            {
                Assert.Equal("ready", await process.StandardOutput.ReadLineAsync().WaitAsync(ProcessTimeout));
            }

            foreach (var process in processes)
            {
                process.StandardInput.WriteLine("go");
            }

            // Threads of their own: four blocked pool threads would starve the thread pool of a two-core
            // machine, and HttpClient opens its connections on the pool.
            var fromThreads = new ResolvedCheckpoint?[4];
            var threads = Enumerable.Range(0, fromThreads.Length)
                .Select(i => new Thread(() => fromThreads[i] = fixture.Resolve()))
                .ToList();
            threads.ForEach(t => t.Start());
            Assert.All(threads, t => Assert.True(t.Join(ProcessTimeout), "a thread did not finish"));
            var fromProcesses = await Task.WhenAll(processes.Select(FinishAsync));

            Assert.Equal(1, fixture.Server.RequestsFor(AcquisitionFixture.Backbone.FileName));
            Assert.All(fromThreads, r => Assert.Equal(new ResolvedCheckpoint(fixture.Target, AcquisitionFixture.CheckpointSha256), r));
            Assert.All(fromProcesses, sha256 => Assert.Equal(AcquisitionFixture.CheckpointSha256, sha256));
            Assert.Equal(AcquisitionFixture.Checkpoint, File.ReadAllBytes(fixture.Target));
            Assert.Equal(["checkpoints/moco_v2_imagenet.pth", "checkpoints/moco_v2_imagenet.pth.sha256"], fixture.CachedFiles.Order());

            // Whoever downloaded, at least three of the four threads found the lock taken and waited.
            Assert.True(fixture.Messages.Count(m => m.StartsWith("Waiting for another thread or process", StringComparison.Ordinal)) >= 3);
        }
        finally
        {
            foreach (var process in processes)
            {
                process.Kill(entireProcessTree: true);
                process.Dispose();
            }
        }
    }

    [Fact]
    public void A_process_killed_mid_download_leaves_nothing_taken_for_the_checkpoint_and_no_stuck_lock()
    {
        fixture.Serve(new ServerFaults { StallAt = 0.4, StallTimes = int.MaxValue });
        var folder = Path.GetDirectoryName(fixture.Target)!;
        string? partial = null;
        using (var process = StartAcquireCheck("killed.onnx"))
        {
            var clock = Stopwatch.StartNew();
            while (partial is null && clock.Elapsed < ProcessTimeout && !process.HasExited)
            {
                Thread.Sleep(50);
                partial = Directory.Exists(folder)
                    ? Directory.EnumerateFiles(folder, "*.partial").FirstOrDefault(f => new FileInfo(f).Length > 0)
                    : null;
            }

            Assert.NotNull(partial);
            process.Kill(entireProcessTree: true);
            Assert.True(process.WaitForExit(ProcessTimeout));
        }

        Assert.False(File.Exists(fixture.Target));
        Assert.True(File.Exists(partial));
        fixture.Options.Offline = true;
        Assert.Throws<CheckpointNotCachedException>(() => fixture.Resolve());

        // The host recovers. A lock left held would make this give up after a second.
        fixture.Serve();
        fixture.Options.Offline = false;
        fixture.Policy = AcquisitionFixture.Fast with { LockPatience = TimeSpan.FromSeconds(1) };
        var resolved = fixture.Resolve();

        Assert.Equal(AcquisitionFixture.Checkpoint, File.ReadAllBytes(resolved.Path));
        Assert.False(File.Exists(partial));
        Assert.Equal(["checkpoints/moco_v2_imagenet.pth", "checkpoints/moco_v2_imagenet.pth.sha256"], fixture.CachedFiles.Order());
    }

    private Process StartAcquireCheck(string onnxName, params string[] flags)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "acquirecheck", "GoodTransfer.ML.AcquireCheck.dll");
        Assert.True(File.Exists(dll), $"the acquire-check program was not built at {dll}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[dll, fixture.CacheFolder, fixture.Server.BaseUrl, AcquisitionFixture.Backbone.Name, Path.Combine(outputs.Folder, onnxName), .. flags])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("GOODTRANSFER_OFFLINE");
        return Process.Start(start)!;
    }

    private static async Task<string> FinishAsync(Process process)
    {
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ProcessTimeout);
        Assert.True(process.ExitCode == 0, $"the other process failed ({process.ExitCode}): {await error}");
        return (await output).Trim();
    }
}
