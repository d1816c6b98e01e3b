using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// A real HTTP server on 127.0.0.1 that serves generated checkpoints under the paper's real file
/// names, standing in for the paper's host (which tests never reach). Counts requests per file.
/// </summary>
public sealed class CheckpointServer : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly Dictionary<string, byte[]> files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> requests = new(StringComparer.Ordinal);
    private readonly Task loop;

    public CheckpointServer()
    {
        var port = FreePort();
        BaseUrl = $"http://127.0.0.1:{port}/good_transfer/";
        listener.Prefixes.Add(BaseUrl);
        listener.Start();
        loop = Task.Run(Serve);
    }

    public string BaseUrl { get; }

    public void Add(string fileName, byte[] content) => files[fileName] = content;

    public int RequestsFor(string fileName) => requests.GetValueOrDefault(fileName);

    public void Dispose()
    {
        listener.Stop();
        listener.Close();
        try
        {
            loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends with the listener; how it ends does not matter.
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var name = context.Request.Url!.AbsolutePath.Split('/')[^1];
            requests.AddOrUpdate(name, 1, (_, n) => n + 1);
            using var response = context.Response;
            if (!files.TryGetValue(name, out var content))
            {
                response.StatusCode = 404;
                continue;
            }

            response.ContentLength64 = content.Length;
            await response.OutputStream.WriteAsync(content);
        }
    }
}
