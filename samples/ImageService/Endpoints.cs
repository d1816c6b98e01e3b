using Microsoft.AspNetCore.Http.Features;

namespace GoodTransfer.ML.Samples.ImageService;

/// <summary>
/// The endpoints, over either model: the batched <see cref="FeaturizerService"/> or the naive
/// <see cref="PredictionEnginePool"/>. An image is the request body, JPEG or PNG bytes. A body that is not an
/// image is a 400 naming the reason, one over the size limit a 413, and a full queue a 503 with Retry-After.
/// </summary>
internal static class Endpoints
{
    /// <summary>The seconds a client is told to wait after a 503: a few batches' time.</summary>
    private const int RetryAfterSeconds = 1;

    public static object Health(FeaturizerService service) => new
    {
        status = "ok",
        mode = "batched",
        model = service.Name,
        canClassify = service.CanPredict,
        classes = service.ClassNames,
        featureSize = service.FeatureSize,
        batchSize = service.BatchSize,
        maxBatchDelayMs = service.MaxBatchDelay.TotalMilliseconds,
        runAtOnceWhenIdle = service.RunAtOnceWhenIdle,
        maxQueueLength = service.MaxQueueLength,
        queueLength = service.QueueLength,
        batchesRun = service.BatchesRun,
        imagesRun = service.ImagesRun,
    };

    public static object Health(PredictionEnginePool pool) => new
    {
        status = "ok",
        mode = "naive",
        model = Path.GetFileName(pool.ModelPath),
        canClassify = true,
        classes = pool.ClassNames,
        engines = pool.Engines,
    };

    public static Task<IResult> Featurize(HttpContext context, object model) =>
        Serve(context, async (image, cancel) =>
        {
            var features = model is FeaturizerService service
                ? await service.FeaturizeAsync(image, cancel)
                : (await ((PredictionEnginePool)model).PredictAsync(image, cancel)).Features;
            return Results.Json(new { featureSize = features.Count, features });
        });

    public static Task<IResult> Classify(HttpContext context, object model) =>
        Serve(context, async (image, cancel) =>
        {
            var (prediction, classes) = model is FeaturizerService service
                ? (await service.PredictAsync(image, cancel), service.ClassNames)
                : (await ((PredictionEnginePool)model).PredictAsync(image, cancel), ((PredictionEnginePool)model).ClassNames);
            var scores = prediction.Scores
                .Select((score, i) => new { label = i < classes.Count ? classes[i] : $"class {i}", score })
                .OrderByDescending(s => s.score)
                .ToList();
            return Results.Json(new { label = prediction.PredictedLabel, scores });
        });

    private static async Task<IResult> Serve(HttpContext context, Func<byte[], CancellationToken, Task<IResult>> answer)
    {
        var cancel = context.RequestAborted;
        byte[] image;
        try
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, cancel);
            image = body.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            return Problem(StatusCodes.Status413PayloadTooLarge, "Image too large", $"The request body is larger than the service accepts ({limit} bytes).");
        }

        if (image.Length == 0)
        {
            return Problem(StatusCodes.Status400BadRequest, "No image", "The request body is empty: POST the image's bytes (JPEG or PNG) as the body.");
        }

        try
        {
            return await answer(image, cancel);
        }
        catch (InvalidImageException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "Not an image the service can read", e.Message);
        }
        catch (ServiceOverloadedException e)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problem(StatusCodes.Status503ServiceUnavailable, "Overloaded", e.Message);
        }
        catch (ServiceStoppedException e)
        {
            return Problem(StatusCodes.Status503ServiceUnavailable, "Stopping", e.Message);
        }
        catch (InvalidOperationException e) when (e is not ObjectDisposedException)
        {
            // From the naive pool: ML.NET's image loader refuses the file ("Invalid input stream contents").
            return Problem(StatusCodes.Status400BadRequest, "Not an image the service can read", e.Message);
        }
    }

    private static IResult Problem(int status, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title);
}
