using System.Diagnostics;
using System.Globalization;
using GoodTransfer.ML.Orleans.Tests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.Orleans.Tests;

/// <summary>
/// Real processes on 127.0.0.1: silos of one Orleans cluster (Redis membership) and a job, killed with SIGKILL
/// mid-run. Every wait is bounded; every process started is killed at the end, passed or failed.
/// </summary>
public sealed class ClusterTests(ClusterFixture fixture, ITestOutputHelper output) : IClassFixture<ClusterFixture>, IDisposable
{
    // Batches of 8 over the fixture's images (1440 to 5760, for a job of about 20 s on this machine), so that a silo
    // started mid-run has joined well before the end.
    private const int ImagesPerBatch = 8;

    private static readonly TimeSpan SiloStart = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan JobRun = TimeSpan.FromMinutes(4);

    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly List<ClusterProcess> processes = [];
    private readonly string cluster = "test-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public void A_silo_killed_mid_run_loses_no_image_and_a_silo_started_mid_run_gets_work()
    {
        var silos = StartSilos(3);
        var outputFolder = fixture.NewOutputFolder("failover");
        var job = Start(ClusterProcess.StartJob("job", fixture.Redis.Endpoint, cluster, ClusterFixture.Checkpoint, fixture.ImageList, outputFolder, fixture.CacheFolder, ImagesPerBatch, clock));

        // A fourth silo starts once the first batch is done (it takes seconds to join); the silo that finished the
        // third batch is killed while it holds its next ones.
        job.WaitFor(line => Done(line) >= 1, JobRun, "a batch done");
        var fourth = Start(ClusterProcess.StartSilo("silo-4", fixture.Redis.Endpoint, cluster, clock));
        var third = job.WaitFor(line => Done(line) >= 3, JobRun, "three batches done");
        var victim = silos.Single(s => s.SiloAddress == Field(third, "silo"));
        var killedAt = victim.KillHard();
        fourth.WaitUntilReady(SiloStart);

        Assert.True(job.WaitForExit(JobRun) == 0, $"the job failed after {victim.Name} was killed.\n{job}");
        var events = job.Lines;
        var lost = events.FirstOrDefault(e => e.Line.StartsWith("event SiloLost", StringComparison.Ordinal) && Field(e.Line, "silo") == victim.SiloAddress);
        Assert.True(lost.Line is not null, $"the job never reported {victim.Name} lost.\n{job}");
        var retried = events.Where(e => e.Line.StartsWith("event BatchRetried", StringComparison.Ordinal) && Field(e.Line, "silo") == victim.SiloAddress).ToList();
        Assert.True(retried.Count > 0, $"none of {victim.Name}'s batches was sent again.\n{job}");
        Assert.True(
            events.Any(e => e.Line.StartsWith("event BatchDone", StringComparison.Ordinal) && Field(e.Line, "silo") == fourth.SiloAddress),
            $"the silo started mid-run ({fourth.SiloAddress}, ready at {fourth.ReadyAt.TotalSeconds:F1} s) did no batch.\n{job}");
        AssertEveryImageOnceWithTheReferenceFeatures(outputFolder);

        output.WriteLine($"kill -9 of {victim.Name} at {killedAt.TotalSeconds:F2} s; lost after {(lost.At - killedAt).TotalSeconds:F2} s; its first batch sent again after {(retried[0].At - killedAt).TotalSeconds:F2} s");
        output.WriteLine(job.Lines[^1].Line);
    }

    [Fact]
    public void A_job_killed_mid_run_resumes_without_redoing_complete_parts()
    {
        StartSilos(3);
        var outputFolder = fixture.NewOutputFolder("resume");
        var first = Start(ClusterProcess.StartJob("job-1", fixture.Redis.Endpoint, cluster, ClusterFixture.Checkpoint, fixture.ImageList, outputFolder, fixture.CacheFolder, ImagesPerBatch, clock));
        first.WaitFor(line => Done(line) >= 6, JobRun, "six batches done");
        first.KillHard();

        // The silos finish what they hold: wait until no part appears for 3 s (bounded), then note what is complete.
        var complete = WaitForQuietParts(outputFolder, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(60));
        Assert.InRange(complete.Count, 6, Batches - 1);

        // What a silo killed mid-write leaves beside a part: the job deletes it once every part is complete.
        var leftover = Path.Combine(outputFolder, $"{complete.Keys.First()}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(leftover, "half a part");

        var second = Start(ClusterProcess.StartJob("job-2", fixture.Redis.Endpoint, cluster, ClusterFixture.Checkpoint, fixture.ImageList, outputFolder, fixture.CacheFolder, ImagesPerBatch, clock));
        Assert.True(second.WaitForExit(JobRun) == 0, $"the restarted job failed.\n{second}");
        var finished = second.Lines[^1].Line;
        Assert.Equal($"finished run {Batches - complete.Count} skipped {complete.Count} retries 0", finished);
        var redone = second.Lines.Where(e => e.Line.StartsWith("event BatchDone", StringComparison.Ordinal)).Select(e => PartName(int.Parse(Field(e.Line, "batch"), CultureInfo.InvariantCulture))).Intersect(complete.Keys);
        Assert.Empty(redone);
        foreach (var (part, written) in complete)
        {
            Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(outputFolder, part)));
        }

        Assert.False(File.Exists(leftover), "the job left a killed write's temporary file in the output folder");
        AssertEveryImageOnceWithTheReferenceFeatures(outputFolder);
        output.WriteLine($"{complete.Count} parts complete when the job was restarted; {finished}");
    }

    public void Dispose()
    {
        foreach (var process in processes)
        {
            process.Dispose();
        }
    }

    private static int Done(string line) =>
        line.StartsWith("event BatchDone", StringComparison.Ordinal) ? int.Parse(Field(line, "done").Split('/')[0], CultureInfo.InvariantCulture) : -1;

    private static string Field(string line, string name)
    {
        var words = line.Split(' ');
        return words[Array.IndexOf(words, name) + 1];
    }

    private int Batches => fixture.Images.Count / ImagesPerBatch;

    private string PartName(int index) => $"part-{index}-of-{Batches}.parquet";

    private static Dictionary<string, DateTime> WaitForQuietParts(string folder, TimeSpan quiet, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var parts = Parts(folder);
        var unchanged = Stopwatch.StartNew();
        while (unchanged.Elapsed < quiet)
        {
            Assert.True(deadline.Elapsed < timeout, $"parts kept appearing in {folder} for {timeout.TotalSeconds:0} s after the job was killed");
            Thread.Sleep(200);
            var now = Parts(folder);
            if (now.Count != parts.Count)
            {
                parts = now;
                unchanged.Restart();
            }
        }

        return parts;

        static Dictionary<string, DateTime> Parts(string folder) =>
            Directory.GetFiles(folder, "part-*.parquet").ToDictionary(p => Path.GetFileName(p), File.GetLastWriteTimeUtc);
    }

    private List<ClusterProcess> StartSilos(int count)
    {
        var silos = Enumerable.Range(1, count).Select(i => Start(ClusterProcess.StartSilo($"silo-{i}", fixture.Redis.Endpoint, cluster, clock))).ToList();
        foreach (var silo in silos)
        {
            silo.WaitUntilReady(SiloStart);
        }

        return silos;
    }

    private ClusterProcess Start(ClusterProcess process)
    {
        processes.Add(process);
        return process;
    }

    // Every image exactly once, in the job's order when the parts are read in part order, with the features of a
    // single-process featurization bit for bit.
    private void AssertEveryImageOnceWithTheReferenceFeatures(string folder)
    {
        Assert.Equal(Enumerable.Range(0, Batches).Select(PartName).Order(StringComparer.Ordinal), Directory.GetFiles(folder, "part-*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var rows = Enumerable.Range(0, Batches).SelectMany(i => FeatureFile.Read(Path.Combine(folder, PartName(i)))).ToList();
        Assert.Equal(fixture.Images.Select(i => i.Path), rows.Select(r => r.Path));
        Assert.Equal(fixture.Images.Select(i => i.Label), rows.Select(r => r.Label));
        Assert.All(rows, row => Assert.DoesNotContain(row.Features, float.IsNaN));
        Assert.Equal(fixture.Reference.Select(Bits), rows.Select(r => Bits(r.Features)));

        static int[] Bits(float[] row) => [.. row.Select(BitConverter.SingleToInt32Bits)];
    }
}
