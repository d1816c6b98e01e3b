using System.Diagnostics;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Acquisition;

/// <summary>
/// What makes a cached checkpoint trusted: the catalog's pinned SHA-256 where there is one, the
/// <c>.sha256</c> record written beside every download and checked on later use, and the rule that only
/// the final file name counts (a partial file never does).
/// </summary>
public sealed class CheckpointIntegrityTests : IDisposable
{
    private readonly AcquisitionFixture fixture = new();

    public void Dispose() => fixture.Dispose();

    [Fact]
    public void A_download_records_its_sha256_beside_it_in_sha256sum_format()
    {
        fixture.Serve();

        fixture.Resolve();

        var record = fixture.Target + ".sha256";
        Assert.Equal($"{AcquisitionFixture.CheckpointSha256}  moco_v2_imagenet.pth\n", File.ReadAllText(record));
        Assert.Equal(["checkpoints/moco_v2_imagenet.pth", "checkpoints/moco_v2_imagenet.pth.sha256"], fixture.CachedFiles.Order());
        if (File.Exists("/usr/bin/sha256sum"))
        {
            var check = Process.Start(new ProcessStartInfo("/usr/bin/sha256sum", ["-c", "moco_v2_imagenet.pth.sha256"])
            {
                WorkingDirectory = Path.GetDirectoryName(fixture.Target),
                RedirectStandardOutput = true,
            })!;
            Assert.Equal("moco_v2_imagenet.pth: OK", check.StandardOutput.ReadToEnd().Trim());
            check.WaitForExit();
            Assert.Equal(0, check.ExitCode);
        }
    }

    [Fact]
    public void A_pinned_hash_that_differs_is_refused_naming_both_hashes_and_nothing_enters_the_cache()
    {
        fixture.Serve();
        var pinned = new string('0', 64);

        var error = Assert.Throws<CheckpointIntegrityException>(() => fixture.Resolve(AcquisitionFixture.Backbone.WithSha256(pinned)));

        Assert.Equal(pinned, error.ExpectedSha256);
        Assert.Equal(AcquisitionFixture.CheckpointSha256, error.ActualSha256);
        Assert.Equal(
            $"The checkpoint downloaded from {fixture.Url} has SHA-256 {AcquisitionFixture.CheckpointSha256}, but the catalog pins {pinned} for MocoV2ImageNet; it was not cached.",
            error.Message);
        Assert.Empty(fixture.CachedFiles);
    }

    [Fact]
    public void A_pinned_hash_that_matches_is_accepted()
    {
        fixture.Serve();

        var resolved = fixture.Resolve(AcquisitionFixture.Backbone.WithSha256(AcquisitionFixture.CheckpointSha256.ToUpperInvariant()));

        Assert.Equal(AcquisitionFixture.CheckpointSha256, resolved.Sha256);
    }

    [Fact]
    public void A_cached_file_that_no_longer_matches_its_record_is_refused_on_later_use()
    {
        fixture.Serve();
        fixture.Resolve();
        var other = File.ReadAllBytes(FixtureManifest.PathOf("checkpoints/bottleneck_root.pth"));
        File.WriteAllBytes(fixture.Target, other);
        File.SetLastWriteTimeUtc(fixture.Target, DateTime.UtcNow.AddMinutes(-5));

        var error = Assert.Throws<CheckpointIntegrityException>(() => fixture.Resolve());

        Assert.Equal(AcquisitionFixture.CheckpointSha256, error.ExpectedSha256);
        Assert.Equal(fixture.Target, error.FilePath);
        Assert.Contains($"but {AcquisitionFixture.CheckpointSha256} was recorded", error.Message, StringComparison.Ordinal);
        Assert.Contains("Delete both files to download it again.", error.Message, StringComparison.Ordinal);
        Assert.Single(fixture.Requests);
    }

    [Fact]
    public void A_file_copied_into_the_cache_by_hand_is_used_offline_and_its_hash_recorded()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(fixture.Target)!);
        File.WriteAllBytes(fixture.Target, AcquisitionFixture.Checkpoint);
        fixture.Options.Offline = true;

        var resolved = fixture.Resolve();

        Assert.Equal(fixture.Target, resolved.Path);
        Assert.Equal(AcquisitionFixture.CheckpointSha256, resolved.Sha256);
        Assert.StartsWith(AcquisitionFixture.CheckpointSha256, File.ReadAllText(fixture.Target + ".sha256"), StringComparison.Ordinal);
        Assert.Empty(fixture.Requests);
    }

    [Fact]
    public void A_partial_file_left_by_a_killed_download_is_never_taken_for_the_checkpoint_and_is_deleted_by_the_next_download()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(fixture.Target)!);
        var leftover = $"{fixture.Target}.{Guid.NewGuid():N}.partial";
        File.WriteAllBytes(leftover, AcquisitionFixture.Checkpoint[..1000]);
        fixture.Options.Offline = true;

        Assert.Throws<CheckpointNotCachedException>(() => fixture.Resolve());

        fixture.Options.Offline = false;
        fixture.Serve();
        var resolved = fixture.Resolve();
        Assert.Equal(AcquisitionFixture.Checkpoint, File.ReadAllBytes(resolved.Path));
        Assert.False(File.Exists(leftover));
    }
}
