using System.Text.RegularExpressions;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Acquisition;

/// <summary>
/// A checkpoint's <c>.sha256</c> record cannot launder damage: a cached checkpoint whose bytes changed beside a
/// record that is garbage or cannot be read is never recorded as good; online it is downloaded again, offline it
/// is a <see cref="CheckpointIntegrityException"/> naming the record. A checkpoint with no record is recorded
/// where the cache can be written, and used with a note where it cannot. Fits through the public API, here and
/// in other processes (GoodTransfer.ML.FitCheck), on the catalog's MocoV2ImageNet served by a local mirror.
/// </summary>
public sealed class CheckpointRecordTests : IDisposable
{
    private static readonly string[] Images = [.. FeatureFixtures.Manifest.Images.Where(i => i.MLImageExact).Take(2).Select(i => i.FullPath)];

    /// <summary>Another loadable checkpoint of the same architecture: damage that a conversion would not notice.</summary>
    private static readonly byte[] OtherCheckpoint = File.ReadAllBytes(FixtureManifest.PathOf("checkpoints/bottleneck_root.pth"));

    private readonly AcquisitionFixture fixture = new();
    private readonly MLContext mlContext = new(seed: 1);
    private readonly GoodTransferLog log;
    private readonly IDataView data;

    public CheckpointRecordTests()
    {
        log = new GoodTransferLog(mlContext);
        data = FeatureFixtures.Paths(mlContext, Images);
    }

    private string Record => fixture.Target + ".sha256";

    private static string GoodRecord => $"{AcquisitionFixture.CheckpointSha256}  moco_v2_imagenet.pth\n";

    public void Dispose() => fixture.Dispose();

    [Fact]
    public void Online_a_changed_checkpoint_beside_a_garbage_record_is_downloaded_again_and_its_features_are_right()
    {
        var before = DownloadAndFit();
        File.WriteAllBytes(fixture.Target, OtherCheckpoint);
        CacheDamage.Apply(fixture.Target, CacheDamage.GarbageRecord);
        log.Clear();

        var after = Fit(offline: false);

        Assert.Equal(
            $"The cached checkpoint {fixture.Target} cannot be verified ('{Record}' is not a SHA-256 record (it should hold 64 hex digits, two spaces and the file name)), so it is downloaded again.",
            Assert.Single(log.Warnings));
        Assert.Equal(2, fixture.Server.RequestsFor(AcquisitionFixture.Backbone.FileName));
        Assert.Equal(AcquisitionFixture.Checkpoint, File.ReadAllBytes(fixture.Target));
        Assert.Equal(GoodRecord, File.ReadAllText(Record));
        FeatureFixtures.AssertSameBits(before, after);
    }

    [Fact]
    public void Offline_a_changed_checkpoint_beside_a_garbage_record_is_an_integrity_error_naming_the_record_and_nothing_is_recorded()
    {
        DownloadAndFit();
        File.WriteAllBytes(fixture.Target, OtherCheckpoint);
        CacheDamage.Apply(fixture.Target, CacheDamage.GarbageRecord);

        var error = Assert.Throws<CheckpointIntegrityException>(() => Fit(offline: true));

        Assert.Equal(Record, error.RecordPath);
        Assert.Equal(fixture.Target, error.FilePath);
        Assert.Equal(
            $"The cached checkpoint '{fixture.Target}' cannot be verified: '{Record}' is not a SHA-256 record (it should hold 64 hex digits, two spaces and the file name), " +
            $"and offline mode is on, so it was not downloaded again. Delete '{fixture.Target}' and '{Record}' to download it again, or turn offline mode off.",
            error.Message);
        Assert.Equal(OtherCheckpoint, File.ReadAllBytes(fixture.Target));
        Assert.Equal("this is not a SHA-256 record\n", File.ReadAllText(Record));
        Assert.Equal(1, fixture.Server.RequestsFor(AcquisitionFixture.Backbone.FileName));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_changed_checkpoint_beside_an_unreadable_record_is_not_recorded_as_good_by_a_fresh_process(bool offline)
    {
        var before = DownloadAndFit();
        File.WriteAllBytes(fixture.Target, OtherCheckpoint);
        Unprivileged.MakeWritable(fixture.CacheFolder);
        CacheDamage.Apply(fixture.Target, CacheDamage.UnreadableRecord);
        var unreadable = $"'{Record}' cannot be read (Access to the path '{Record}' is denied.)";

        var run = FitCheck.Fit(fixture.CacheFolder, AcquisitionFixture.Backbone.Name, Images, offline ? ["--offline"] : ["--mirror", fixture.Server.BaseUrl], unprivileged: true);

        if (offline)
        {
            Assert.True(run.ExitCode == 1, run.ToString());
            Assert.Equal(
                $"GoodTransfer.ML.CheckpointIntegrityException: The cached checkpoint '{fixture.Target}' cannot be verified: {unreadable}, " +
                $"and offline mode is on, so it was not downloaded again. Delete '{fixture.Target}' and '{Record}' to download it again, or turn offline mode off.",
                run.Error);
            Assert.Equal(Record, run.RecordPath);
            Assert.Equal(OtherCheckpoint, File.ReadAllBytes(fixture.Target));
            Assert.Equal(UnixFileMode.None, Unprivileged.ModeOf(Record));
            Assert.Equal(1, fixture.Server.RequestsFor(AcquisitionFixture.Backbone.FileName));
        }
        else
        {
            run.Succeeded();
            Assert.Equal($"The cached checkpoint {fixture.Target} cannot be verified ({unreadable}), so it is downloaded again.", Assert.Single(run.Warnings));
            Assert.Equal(2, fixture.Server.RequestsFor(AcquisitionFixture.Backbone.FileName));
            Assert.Equal(AcquisitionFixture.Checkpoint, File.ReadAllBytes(fixture.Target));
            Assert.Equal(GoodRecord, File.ReadAllText(Record));
            FeatureFixtures.AssertSameBits(before, run.Features);
        }
    }

    [Fact]
    public void A_checkpoint_without_a_record_in_a_writable_cache_is_recorded_by_the_process_that_next_uses_it()
    {
        var before = DownloadAndFit();
        File.Delete(Record);

        var run = FitCheck.Fit(fixture.CacheFolder, AcquisitionFixture.Backbone.Name, Images, ["--offline"]).Succeeded();

        Assert.Empty(run.Warnings);
        Assert.Contains($"Recorded the SHA-256 of {fixture.Target}, which was not downloaded here: {AcquisitionFixture.CheckpointSha256}.", run.Infos);
        Assert.Equal(GoodRecord, File.ReadAllText(Record));
        FeatureFixtures.AssertSameBits(before, run.Features);
    }

    [Fact]
    public void In_a_read_only_cache_a_checkpoint_without_a_record_is_used_with_a_note_by_a_process_that_cannot_write_it()
    {
        var before = DownloadAndFit();
        File.Delete(Record);
        Unprivileged.MakeReadOnly(fixture.CacheFolder);
        try
        {
            var run = FitCheck.Fit(fixture.CacheFolder, AcquisitionFixture.Backbone.Name, Images, ["--offline"], unprivileged: true).Succeeded();

            Assert.Empty(run.Warnings);
            var note = Assert.Single(run.Infos, m => m.StartsWith("The cache cannot be written", StringComparison.Ordinal));
            Assert.Matches(
                $@"^The cache cannot be written \(Access to the path '{Regex.Escape(fixture.Target)}\.sha256\.[0-9a-f]{{32}}\.tmp' is denied\.\), " +
                $@"so the SHA-256 of {Regex.Escape(fixture.Target)} \({AcquisitionFixture.CheckpointSha256}\) is kept in memory and not recorded\.$",
                note);
            Assert.False(File.Exists(Record));
            FeatureFixtures.AssertSameBits(before, run.Features);
        }
        finally
        {
            Unprivileged.RestoreOwnerWrite(fixture.CacheFolder);
        }
    }

    /// <summary>The first Fit on the empty cache: one download, its record, the converted models; returns the features.</summary>
    private List<float[]> DownloadAndFit()
    {
        fixture.Serve();
        var features = Fit(offline: false);
        Assert.Equal(GoodRecord, File.ReadAllText(Record));
        return features;
    }

    private List<float[]> Fit(bool offline)
    {
        var options = new GoodTransferOptions { CacheDirectory = fixture.CacheFolder, MirrorUrl = fixture.Server.BaseUrl, Offline = offline };
        using var model = mlContext.Transforms.GoodTransferFeaturize(AcquisitionFixture.Backbone, inputColumnName: "Path", options: options).Fit(data);
        return FeatureFixtures.Column(model.Transform(data), "Features");
    }
}
