using GoodTransfer.ML.Checkpoints;

namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// Finds a backbone's checkpoint on disk: the local file of <see cref="Backbone.FromFile"/>, or the
/// cached copy of a catalog backbone, downloading it first when it is missing and the network is allowed.
/// A download goes to a unique temporary file beside its destination, is validated as a loadable
/// checkpoint, and only then moved into place, so the cache never holds a partial or foreign file.
/// </summary>
internal static class CheckpointStore
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(30) };

    public static string Resolve(Backbone backbone, GoodTransferOptions options)
    {
        if (backbone.CheckpointPath is { } local)
        {
            return local;
        }

        var settings = AcquisitionSettings.From(options);
        var target = Path.Combine(settings.CheckpointFolder, backbone.FileName);
        if (File.Exists(target))
        {
            return target;
        }

        var url = settings.UrlFor(backbone);
        if (settings.Offline)
        {
            throw new CheckpointNotCachedException(backbone.FileName, url, target);
        }

        Download(url, target);
        return target;
    }

    private static void Download(Uri url, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temporary = $"{target}.{Guid.NewGuid():N}.partial";
        try
        {
            using (var response = Send(url))
            using (var body = response.Content.ReadAsStream())
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                body.CopyTo(file, 1 << 20);
                file.Flush(flushToDisk: true);
            }

            // Refuse an error page or a truncated body before it can enter the cache.
            CheckpointReader.Read(temporary);
            try
            {
                File.Move(temporary, target, overwrite: false);
            }
            catch (IOException) when (File.Exists(target))
            {
                // Another process finished the same download first; its validated copy stays.
            }
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static HttpResponseMessage Send(Uri url)
    {
        HttpResponseMessage response;
        try
        {
            response = Http.Send(new HttpRequestMessage(HttpMethod.Get, url), HttpCompletionOption.ResponseHeadersRead);
        }
        catch (HttpRequestException e)
        {
            throw new CheckpointDownloadException(url, null, e.Message, e);
        }
        catch (TaskCanceledException e)
        {
            throw new CheckpointDownloadException(url, null, "the request timed out", e);
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            throw new CheckpointDownloadException(url, status, $"the server answered {status}");
        }

        return response;
    }
}
