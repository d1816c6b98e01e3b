using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using GoodTransfer.ML.IO;

namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// Streams one file over HTTP into a new temporary file, hashing the bytes as they arrive. A cut
/// connection is resumed with a <c>Range</c> request where the server allows it (else the file starts
/// again); transient failures (5xx, 408, 429, network errors, a stall) are retried with exponential
/// backoff and jitter; 404, 403 and other client errors fail at once; an HTML page is refused before
/// more than its first bytes are written. Validating the file and moving it into place is the caller's.
/// </summary>
/// <remarks>
/// Synchronous, as <c>Fit</c> is: the body is read on the calling thread, so a thread pool kept busy (by
/// threads waiting for the same lock, or by the application) cannot hold up the bytes. Blocking on
/// asynchronous reads instead stalled downloads on two cores. HttpClient still opens connections on the
/// pool, also for <see cref="HttpClient.Send(HttpRequestMessage, HttpCompletionOption, CancellationToken)"/>;
/// the default stall timeout of 30 s leaves ample room for the pool to add a thread. A stall is detected by
/// a timer that aborts the blocked read by disposing the body; a late timer only lengthens a real stall.
/// </remarks>
internal static class CheckpointDownloader
{
    private const int BufferSize = 1 << 16;

    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        // Ranges and hashes are of the bytes as served; a transparently decompressed body would break both.
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),

        // An abandoned body is dropped at once; draining it for reuse would delay every retry by up to 2 s.
        MaxResponseDrainSize = 0,
    })
    {
        // The stall timeout bounds every wait instead: a slow but steady download takes as long as it needs.
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>Downloads <paramref name="url"/> into <paramref name="temporary"/>, which must not exist, and returns the file's SHA-256.</summary>
    /// <exception cref="CheckpointDownloadException">A permanent failure, an HTML page, or transient failures past the attempt limit.</exception>
    public static string Download(Uri url, string temporary, string fileName, AcquisitionPolicy policy, IProgress<DownloadProgress>? progress, AcquisitionLog log)
    {
        using var transfer = new Transfer(url, temporary, fileName, policy, progress, log);
        return transfer.Run();
    }

    private static string Size(long? bytes) => bytes switch
    {
        null => "size unknown",
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:0.0} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes"),
    };

    /// <summary>An attempt that failed in a way worth retrying.</summary>
    private sealed record Failure(string Reason, int? StatusCode = null, TimeSpan? RetryAfter = null);

    private sealed class Transfer : IDisposable
    {
        private readonly Uri url;
        private readonly string fileName;
        private readonly AcquisitionPolicy policy;
        private readonly IProgress<DownloadProgress>? progress;
        private readonly AcquisitionLog log;
        private readonly FileStream file;
        private readonly IncrementalHash hash;
        private long written;
        private long? total;
        private EntityTagHeaderValue? entityTag;
        private bool announced;

        public Transfer(Uri url, string temporary, string fileName, AcquisitionPolicy policy, IProgress<DownloadProgress>? progress, AcquisitionLog log)
        {
            this.url = url;
            this.fileName = fileName;
            this.policy = policy;
            this.progress = progress;
            this.log = log;
            file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize);
            hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }

        public string Run()
        {
            var clock = Stopwatch.StartNew();
            var attempts = 0;
            var failuresWithoutProgress = 0;
            long furthest = 0;
            while (true)
            {
                attempts++;
                var failure = Attempt();
                if (failure is null)
                {
                    break;
                }

                // Count only attempts that got no further than any before: a flaky but moving download goes on.
                if (written > furthest)
                {
                    furthest = written;
                    failuresWithoutProgress = 1;
                }
                else
                {
                    failuresWithoutProgress++;
                }

                if (failuresWithoutProgress >= policy.MaxAttempts)
                {
                    throw new CheckpointDownloadException(url, failure.StatusCode, $"{failure.Reason}; gave up after {attempts} attempts");
                }

                var delay = policy.RetryDelay(failuresWithoutProgress, failure.RetryAfter);
                var resume = written > 0 ? $", resuming at {Size(written)}" : string.Empty;
                log.Warning(string.Create(CultureInfo.InvariantCulture, $"Download of {fileName} failed: {failure.Reason}. Retrying in {delay.TotalSeconds:0.0} s{resume} (attempt {attempts + 1})."));
                Thread.Sleep(delay);
            }

            file.Flush(flushToDisk: true);
            var sha256 = Sha256Hex.Format(hash.GetHashAndReset());
            progress?.Report(new DownloadProgress(fileName, written, total ?? written, written / Math.Max(clock.Elapsed.TotalSeconds, 1e-3)));
            log.Info(string.Create(CultureInfo.InvariantCulture, $"Downloaded {fileName}: {Size(written)} in {clock.Elapsed.TotalSeconds:0.0} s, SHA-256 {sha256}."));
            return sha256;
        }

        public void Dispose()
        {
            file.Dispose();
            hash.Dispose();
        }

        private Failure? Attempt()
        {
            var resumeFrom = written;
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (resumeFrom > 0)
            {
                request.Headers.Range = new RangeHeaderValue(resumeFrom, null);
                if (entityTag is not null)
                {
                    // Only the same version of the file may continue it; otherwise the server sends all of it.
                    request.Headers.IfRange = new RangeConditionHeaderValue(entityTag);
                }
            }

            using var stall = new CancellationTokenSource(policy.StallTimeout);
            HttpResponseMessage response;
            try
            {
                response = Http.Send(request, HttpCompletionOption.ResponseHeadersRead, stall.Token);
            }
            catch (HttpRequestException e)
            {
                return new Failure(e.Message);
            }
            catch (OperationCanceledException) when (stall.IsCancellationRequested)
            {
                return new Failure(string.Create(CultureInfo.InvariantCulture, $"no response for {policy.StallTimeout.TotalSeconds:0.#} s"));
            }

            using (response)
            {
                var status = (int)response.StatusCode;
                if (!response.IsSuccessStatusCode)
                {
                    return Unsuccessful(response, resumeFrom);
                }

                if (response.Content.Headers.ContentType?.MediaType is "text/html" or "application/xhtml+xml")
                {
                    throw HtmlPage(status, $"its Content-Type is {response.Content.Headers.ContentType.MediaType}");
                }

                if (StartOrResume(response, resumeFrom) is { } mismatch)
                {
                    return mismatch;
                }

                return Receive(response, status, stall);
            }
        }

        private Failure Unsuccessful(HttpResponseMessage response, long resumeFrom)
        {
            var status = (int)response.StatusCode;
            if (status == 416 && resumeFrom > 0)
            {
                Restart();
                return new Failure($"the server cannot resume at byte {resumeFrom} (416)", status);
            }

            var answered = $"the server answered {status} ({response.ReasonPhrase})";
            if (status is 408 or 429 or >= 500)
            {
                return new Failure(answered, status, response.Headers.RetryAfter?.Delta);
            }

            // 404, 403 and the other client errors will not change by asking again.
            throw new CheckpointDownloadException(url, status, answered + "; not retried");
        }

        /// <summary>Checks that a partial answer continues the bytes already written, or starts the file over on a full one.</summary>
        private Failure? StartOrResume(HttpResponseMessage response, long resumeFrom)
        {
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                var range = response.Content.Headers.ContentRange;
                if (resumeFrom == 0 || range?.From != resumeFrom || (total is not null && range.Length != total))
                {
                    Restart();
                    return new Failure($"the server's partial answer ({range}) does not continue at byte {resumeFrom}", 206);
                }

                total ??= range.Length;
                log.Info($"Resuming {fileName} at {Size(resumeFrom)} of {Size(total)}.");
                return null;
            }

            if (resumeFrom > 0)
            {
                log.Warning($"The server sent all of {fileName} again instead of resuming at byte {resumeFrom}; starting over.");
                Restart();
            }

            total = response.Content.Headers.ContentLength;
            entityTag = response.Headers.ETag is { IsWeak: false } tag ? tag : null;
            if (!announced)
            {
                log.Info($"Downloading {fileName} ({Size(total)}) from {url}.");
                announced = true;
            }

            return null;
        }

        private Failure? Receive(HttpResponseMessage response, int status, CancellationTokenSource stall)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                using var body = response.Content.ReadAsStream();

                // A blocked synchronous read ends when its stream is disposed.
                using var abort = stall.Token.Register(static b => ((Stream)b!).Dispose(), body);
                var clock = Stopwatch.StartNew();
                var start = written;
                var lastReport = TimeSpan.Zero;
                while (true)
                {
                    var (count, failure) = Read(body, buffer, stall);
                    if (failure is not null)
                    {
                        return failure;
                    }

                    if (count == 0)
                    {
                        break;
                    }

                    if (written == 0 && LooksLikeHtml(buffer.AsSpan(0, count)))
                    {
                        throw HtmlPage(status, "its body starts like an HTML page");
                    }

                    // Disk errors are not the network's: they propagate and end the download.
                    file.Write(buffer, 0, count);
                    hash.AppendData(buffer, 0, count);
                    written += count;
                    if (progress is not null && clock.Elapsed - lastReport >= policy.ProgressInterval)
                    {
                        lastReport = clock.Elapsed;
                        progress.Report(new DownloadProgress(fileName, written, total, (written - start) / Math.Max(clock.Elapsed.TotalSeconds, 1e-3)));
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (written < total)
            {
                return new Failure($"the connection closed after {written} of {total} bytes");
            }

            if (written > total)
            {
                throw new CheckpointDownloadException(url, status, $"the server sent {written} bytes but announced {total}");
            }

            return null;
        }

        private (int Count, Failure? Failure) Read(Stream body, byte[] buffer, CancellationTokenSource stall)
        {
            stall.CancelAfter(policy.StallTimeout);
            try
            {
                var count = body.Read(buffer, 0, BufferSize);

                // A read aborted by the stall timer may end as if the body had ended.
                return count == 0 && stall.IsCancellationRequested ? (0, Stalled()) : (count, null);
            }
            catch (Exception e) when (stall.IsCancellationRequested && e is IOException or HttpRequestException or ObjectDisposedException)
            {
                return (0, Stalled());
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                // HttpClient reports a reset, or a body shorter than its Content-Length, as an IOException.
                return (0, new Failure($"the connection broke after {written} bytes: {e.Message}"));
            }
        }

        private Failure Stalled() =>
            new(string.Create(CultureInfo.InvariantCulture, $"no data for {policy.StallTimeout.TotalSeconds:0.#} s after {written} bytes"));

        private void Restart()
        {
            file.SetLength(0);
            file.Position = 0;
            written = 0;
            hash.GetHashAndReset();
        }

        private CheckpointDownloadException HtmlPage(int status, string why) =>
            new(url, status, $"the server answered {status} with an HTML page, not a checkpoint ({why}); a login, proxy or error page? Nothing was cached");

        /// <summary>
        /// A PyTorch checkpoint starts with a zip header (<c>PK</c>) or a pickle opcode (0x80);
        /// an HTML or XML page starts with <c>&lt;</c> after optional whitespace and a byte-order mark.
        /// </summary>
        private static bool LooksLikeHtml(ReadOnlySpan<byte> start)
        {
            var text = start.StartsWith("\uFEFF"u8) ? start[3..] : start;
            text = text.TrimStart(" \t\r\n"u8);
            return text.Length > 0 && text[0] == (byte)'<';
        }
    }
}

