using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// A real HTTP/1.1 server on 127.0.0.1, started by the tests, that serves generated checkpoints under the
/// paper's real file names, standing in for the paper's host (which tests never reach). It is written on a
/// <see cref="TcpListener"/> rather than <see cref="HttpListener"/> so that it can fail as networks and hosts
/// do (<see cref="ServerFaults"/>): cut a body short, stall, answer 503 or 404, send a login page with 200,
/// announce a wrong Content-Length, ignore ranges. It logs every request with its Range header.
/// Every response closes its connection. Everything is bounded: a request's headers are read for at most
/// 5 s, a stall lasts at most 30 s, and disposing the server ends every connection.
/// It serves on threads of its own, not the thread pool: the code under test blocks pool threads while it
/// waits for a lock, and a server that needed them would stall for reasons of the test's making.
/// </summary>
public sealed class CheckpointServer : IDisposable
{
    private const int ChunkSize = 16 * 1024;
    private static readonly TimeSpan HeaderTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LongestStall = TimeSpan.FromSeconds(30);

    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<string, ServedFile> files = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ServedRequest> log = new();
    private readonly ConcurrentDictionary<Thread, byte> connections = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Thread acceptor;

    public CheckpointServer()
    {
        listener.Start();
        BaseUrl = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/good_transfer/";
        acceptor = new Thread(Accept) { IsBackground = true, Name = "CheckpointServer" };
        acceptor.Start();
    }

    public string BaseUrl { get; }

    /// <summary>Serves <paramref name="content"/> as <paramref name="fileName"/>, replacing what was served under that name (and its request count for faults).</summary>
    public void Add(string fileName, byte[] content, ServerFaults? faults = null) =>
        files[fileName] = new ServedFile(content, faults ?? new ServerFaults());

    public int RequestsFor(string fileName) => log.Count(r => r.FileName == fileName);

    /// <summary>The requests for a file, in the order they arrived.</summary>
    public IReadOnlyList<ServedRequest> Requests(string fileName) => [.. log.Where(r => r.FileName == fileName)];

    public void Dispose()
    {
        stopping.Cancel();
        listener.Stop();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        foreach (var thread in connections.Keys.Append(acceptor))
        {
            thread.Join(TimeSpan.FromTicks(Math.Max(0, (deadline - DateTime.UtcNow).Ticks)));
        }

        stopping.Dispose();
    }

    private void Accept()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = listener.AcceptTcpClient();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var connection = new Thread(() => Serve(client)) { IsBackground = true, Name = "CheckpointServer connection" };
            connections[connection] = 0;
            connection.Start();
        }
    }

    private void Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                stream.ReadTimeout = (int)HeaderTimeout.TotalMilliseconds;
                if (ReadHead(stream) is not { } head)
                {
                    return;
                }

                Respond(stream, head);
                client.Client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away (it gave up on a stall, or read all that the Content-Length promised).
            }
            finally
            {
                connections.TryRemove(Thread.CurrentThread, out _);
            }
        }
    }

    /// <summary>Waits, unless the server is being disposed; then the connection ends.</summary>
    private void Pause(TimeSpan time)
    {
        if (stopping.Token.WaitHandle.WaitOne(time))
        {
            throw new OperationCanceledException();
        }
    }

    private void Respond(NetworkStream stream, RequestHead head)
    {
        var name = Uri.UnescapeDataString(head.Path.Split('/')[^1]);
        var request = new ServedRequest(name, head.Header("range"));
        log.Enqueue(request);
        if (!files.TryGetValue(name, out var file))
        {
            Send(stream, request, 404, "Not Found", "text/plain", "no such file"u8.ToArray(), []);
            return;
        }

        var faults = file.Faults;
        var number = Interlocked.Increment(ref file.Requests);
        if (faults.Status is { } status)
        {
            Send(stream, request, status, "Refused", "text/plain", Encoding.ASCII.GetBytes($"status {status}"), []);
            return;
        }

        if (number <= faults.FailFirst)
        {
            Send(stream, request, 503, "Service Unavailable", "text/plain", "try again later"u8.ToArray(), []);
            return;
        }

        if (faults.HtmlPage)
        {
            var page = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form>Sign in to continue</form></body></html>\n"u8.ToArray();
            Send(stream, request, 200, "OK", faults.ContentType ?? "text/html; charset=utf-8", page, []);
            return;
        }

        var content = file.Content;
        long start = 0;
        var headers = new List<string> { $"ETag: {file.ETag}" };
        if (faults.SupportsRange)
        {
            headers.Add("Accept-Ranges: bytes");
            if (ParseRangeStart(request.Range) is { } from && (head.Header("if-range") is not { } ifRange || ifRange == file.ETag))
            {
                if (from >= content.Length)
                {
                    headers.Add($"Content-Range: bytes */{content.Length}");
                    Send(stream, request, 416, "Range Not Satisfiable", "text/plain", ReadOnlyMemory<byte>.Empty, headers);
                    return;
                }

                start = from;
                headers.Add($"Content-Range: bytes {from}-{content.Length - 1}/{content.Length}");
            }
        }

        var body = content.AsMemory((int)start);
        var response = Interlocked.Increment(ref file.BodyResponses);
        var cutAfter = response <= faults.CutTimes && faults.CutAt is { } cut ? (long)(cut * body.Length) : (long?)null;
        var stallAfter = response <= faults.StallTimes && faults.StallAt is { } stall ? (long)(stall * body.Length) : (long?)null;
        var statusCode = start > 0 ? 206 : 200;
        Send(stream, request, statusCode, statusCode == 206 ? "Partial Content" : "OK", faults.ContentType ?? "application/octet-stream", body, headers,
            declaredLength: body.Length + faults.ContentLengthError, stopAfter: cutAfter ?? stallAfter, stall: stallAfter is not null, faults.ChunkDelay);
    }

    private void Send(
        NetworkStream stream,
        ServedRequest request,
        int status,
        string reason,
        string contentType,
        ReadOnlyMemory<byte> body,
        List<string> headers,
        long? declaredLength = null,
        long? stopAfter = null,
        bool stall = false,
        TimeSpan chunkDelay = default)
    {
        request.Status = status;
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reason}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {declaredLength ?? body.Length}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Type: {contentType}\r\n")
            .Append("Connection: close\r\n");
        foreach (var header in headers)
        {
            head.Append(header).Append("\r\n");
        }

        stream.Write(Encoding.ASCII.GetBytes(head.Append("\r\n").ToString()));
        var end = Math.Min(body.Length, stopAfter ?? body.Length);
        for (var offset = 0; offset < end; offset += ChunkSize)
        {
            var chunk = body.Slice(offset, (int)Math.Min(ChunkSize, end - offset));
            stream.Write(chunk.Span);
            request.BytesSent += chunk.Length;
            if (chunkDelay > TimeSpan.Zero)
            {
                Pause(chunkDelay);
            }
        }

        if (stall)
        {
            Pause(LongestStall);
        }
    }

    private static RequestHead? ReadHead(NetworkStream stream)
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = stream.Read(buffer.AsSpan(length));
            if (read == 0)
            {
                return null;
            }

            length += read;
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            var endOfHead = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (endOfHead >= 0)
            {
                var lines = text[..endOfHead].Split("\r\n");
                var headers = lines.Skip(1)
                    .Select(l => l.Split(':', 2))
                    .Where(p => p.Length == 2)
                    .ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim(), StringComparer.Ordinal);
                return new RequestHead(lines[0].Split(' ')[1], headers);
            }
        }

        return null;
    }

    private static long? ParseRangeStart(string? range) =>
        range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-') &&
        long.TryParse(range.AsSpan(6, range.Length - 7), NumberStyles.None, CultureInfo.InvariantCulture, out var from)
            ? from
            : null;

    private sealed record RequestHead(string Path, Dictionary<string, string> Headers)
    {
        public string? Header(string name) => Headers.GetValueOrDefault(name);
    }

    private sealed class ServedFile(byte[] content, ServerFaults faults)
    {
        public int Requests;
        public int BodyResponses;

        public byte[] Content { get; } = content;

        public ServerFaults Faults { get; } = faults;

        public string ETag { get; } = $"\"{Convert.ToHexString(SHA256.HashData(content))[..16]}\"";
    }
}

/// <summary>How <see cref="CheckpointServer"/> misbehaves for one file; the default serves it correctly.</summary>
public sealed record ServerFaults
{
    /// <summary>Every request gets this status (404, 403) and no file.</summary>
    public int? Status { get; init; }

    /// <summary>The first this many requests get 503 Service Unavailable.</summary>
    public int FailFirst { get; init; }

    /// <summary>A sign-in page instead of the file, with status 200 and <see cref="ContentType"/> (text/html unless set).</summary>
    public bool HtmlPage { get; init; }

    /// <summary>The Content-Type header; application/octet-stream for the file unless set.</summary>
    public string? ContentType { get; init; }

    /// <summary>The first <see cref="CutTimes"/> responses close the connection after this fraction of their body.</summary>
    public double? CutAt { get; init; }

    public int CutTimes { get; init; } = 1;

    /// <summary>The first <see cref="StallTimes"/> responses send this fraction of their body, then nothing (for up to 30 s).</summary>
    public double? StallAt { get; init; }

    public int StallTimes { get; init; } = 1;

    /// <summary>Added to the true Content-Length in the header: more than is sent, or fewer.</summary>
    public long ContentLengthError { get; init; }

    /// <summary>Whether <c>Range: bytes=N-</c> is honoured (206) or ignored (200 with the whole file).</summary>
    public bool SupportsRange { get; init; } = true;

    /// <summary>A pause after every 16 KB, to make a download last.</summary>
    public TimeSpan ChunkDelay { get; init; }
}

/// <summary>One request as the server saw it.</summary>
public sealed class ServedRequest(string fileName, string? range)
{
    public string FileName { get; } = fileName;

    /// <summary>The Range header, e.g. <c>bytes=224000-</c>; <see langword="null"/> when absent.</summary>
    public string? Range { get; } = range;

    public int Status { get; set; }

    public long BytesSent { get; set; }
}
