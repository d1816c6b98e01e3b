using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Acquisition;

/// <summary>
/// Downloads against a real HTTP server on 127.0.0.1 that fails on purpose: a connection cut at 30%,
/// 503s, 404 and 403, a stall, an HTML page with status 200, a wrong Content-Length, no range support.
/// Each test checks what reaches the cache (the whole file or nothing) and how many requests were made.
/// </summary>
public sealed class CheckpointDownloadTests : IDisposable
{
    private readonly AcquisitionFixture fixture = new();

    public void Dispose() => fixture.Dispose();

    [Fact]
    public void A_connection_cut_at_30_percent_is_resumed_with_a_range_request()
    {
        fixture.Serve(new ServerFaults { CutAt = 0.3 });

        var resolved = fixture.Resolve();

        Assert.Equal(AcquisitionFixture.Checkpoint, File.ReadAllBytes(resolved.Path));
        Assert.Equal(AcquisitionFixture.CheckpointSha256, resolved.Sha256);
        var requests = fixture.Requests;
        Assert.Equal(2, requests.Count);
        Assert.Null(requests[0].Range);
        Assert.Equal($"bytes={(long)(0.3 * AcquisitionFixture.Checkpoint.Length)}-", requests[1].Range);
        Assert.Equal(206, requests[1].Status);
        Assert.Contains(fixture.Messages, m => m.StartsWith("Resuming moco_v2_imagenet.pth at", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_range_support_a_cut_download_starts_over_and_completes()
    {
        fixture.Serve(new ServerFaults { CutAt = 0.3, SupportsRange = false });

        var resolved = fixture.Resolve();

        Assert.Equal(AcquisitionFixture.Checkpoint, File.ReadAllBytes(resolved.Path));
        Assert.Equal([200, 200], fixture.Requests.Select(r => r.Status));
        Assert.Contains(fixture.Messages, m => m.Contains("starting over", StringComparison.Ordinal));
    }

    [Fact]
    public void Two_503s_are_retried_with_backoff_and_the_third_request_succeeds()
    {
        fixture.Serve(new ServerFaults { FailFirst = 2 });

        var resolved = fixture.Resolve();

        Assert.Equal(AcquisitionFixture.CheckpointSha256, resolved.Sha256);
        Assert.Equal([503, 503, 200], fixture.Requests.Select(r => r.Status));
        Assert.Equal(2, fixture.Messages.Count(m => m.Contains("failed: the server answered 503", StringComparison.Ordinal)));
    }

    [Fact]
    public void Transient_failures_past_the_attempt_limit_name_the_url_the_attempts_and_the_last_error()
    {
        fixture.Serve(new ServerFaults { FailFirst = 100 });

        var error = Assert.Throws<CheckpointDownloadException>(() => fixture.Resolve());

        Assert.Equal(AcquisitionFixture.Fast.MaxAttempts, fixture.Requests.Count);
        Assert.Equal(503, error.StatusCode);
        Assert.Equal(
            $"Cannot download checkpoint from {fixture.Url}: the server answered 503 (Service Unavailable); gave up after 4 attempts.",
            error.Message);
        Assert.Empty(fixture.CachedFiles);
    }

    [Theory]
    [InlineData(404, "Refused")]
    [InlineData(403, "Refused")]
    public void A_404_or_403_fails_at_once_without_a_retry(int status, string reason)
    {
        fixture.Serve(new ServerFaults { Status = status });

        var error = Assert.Throws<CheckpointDownloadException>(() => fixture.Resolve());

        Assert.Single(fixture.Requests);
        Assert.Equal(status, error.StatusCode);
        Assert.Equal($"Cannot download checkpoint from {fixture.Url}: the server answered {status} ({reason}); not retried.", error.Message);
        Assert.Empty(fixture.CachedFiles);
    }

    [Fact]
    public void A_stall_is_abandoned_after_the_stall_timeout_and_resumed()
    {
        fixture.Serve(new ServerFaults { StallAt = 0.5 });
        fixture.Policy = AcquisitionFixture.Fast with { StallTimeout = TimeSpan.FromSeconds(1) };

        var resolved = fixture.Resolve();

        Assert.Equal(AcquisitionFixture.Checkpoint, File.ReadAllBytes(resolved.Path));
        var half = (long)(0.5 * AcquisitionFixture.Checkpoint.Length);
        Assert.Equal($"bytes={half}-", fixture.Requests[^1].Range);
        Assert.Equal(206, fixture.Requests[^1].Status);
        Assert.Contains(fixture.Messages, m => m.StartsWith(
            $"Download of moco_v2_imagenet.pth failed: no data for 1 s after {half} bytes. Retrying in 0.0 s, resuming at {half} bytes",
            StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, "its Content-Type is text/html")]
    [InlineData("application/octet-stream", "its body starts like an HTML page")]
    public void An_HTML_page_served_with_200_is_refused_and_never_cached(string? contentType, string why)
    {
        fixture.Serve(new ServerFaults { HtmlPage = true, ContentType = contentType });

        var error = Assert.Throws<CheckpointDownloadException>(() => fixture.Resolve());

        Assert.Single(fixture.Requests);
        Assert.Equal(200, error.StatusCode);
        Assert.Contains($"the server answered 200 with an HTML page, not a checkpoint ({why})", error.Message, StringComparison.Ordinal);
        Assert.Empty(fixture.CachedFiles);
    }

    [Fact]
    public void A_Content_Length_larger_than_the_file_is_never_cached()
    {
        // The body ends short of what was announced, every time: resuming cannot help, so the attempts run out.
        fixture.Serve(new ServerFaults { ContentLengthError = 1000 });

        var error = Assert.Throws<CheckpointDownloadException>(() => fixture.Resolve());

        Assert.Contains(fixture.Url, error.Message, StringComparison.Ordinal);
        Assert.Contains("gave up after", error.Message, StringComparison.Ordinal);
        Assert.Empty(fixture.CachedFiles);
    }

    [Fact]
    public void A_Content_Length_smaller_than_the_file_truncates_it_and_the_truncated_file_is_refused()
    {
        fixture.Serve(new ServerFaults { ContentLengthError = -1000 });

        var error = Assert.Throws<CheckpointDownloadException>(() => fixture.Resolve());

        Assert.Contains("the file received is not a loadable checkpoint, so it was not cached", error.Message, StringComparison.Ordinal);
        Assert.IsType<CheckpointFormatException>(error.InnerException, exactMatch: false);
        Assert.Empty(fixture.CachedFiles);
    }

    [Fact]
    public void Progress_reports_bytes_done_the_total_and_the_rate()
    {
        fixture.Serve(new ServerFaults { CutAt = 0.3 });
        var progress = new RecordingProgress();
        fixture.Options.Progress = progress;

        fixture.Resolve();

        var reports = progress.Reports;
        var length = AcquisitionFixture.Checkpoint.Length;
        Assert.True(reports.Count >= 3, $"{reports.Count} reports");
        Assert.All(reports, r => Assert.Equal("moco_v2_imagenet.pth", r.FileName));
        Assert.All(reports, r => Assert.Equal(length, r.TotalBytes));
        Assert.All(reports, r => Assert.True(r.BytesPerSecond > 0));
        Assert.Equal(reports.Select(r => r.BytesDone).Order(), reports.Select(r => r.BytesDone));
        Assert.Equal(length, reports[^1].BytesDone);
    }
}
