using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using GoodTransfer.ML.Service.Tests.Support;

namespace GoodTransfer.ML.Service.Tests;

/// <summary>samples/ImageService over HTTP, a real Kestrel process on 127.0.0.1 serving the fixture's classifier zip.</summary>
[Collection(SharedServiceFixture.Name)]
public sealed class ImageServiceTests(ServiceFixture fixture)
{
    [Fact]
    public async Task Classify_featurize_and_health_answer_as_the_library_does()
    {
        using var server = new ImageServiceProcess(fixture.ClassifierZip);
        await using var service = FeaturizerService.Load(fixture.ClassifierZip);
        var image = ServiceFixture.HeldOut[0].Path;
        var expected = await service.PredictFileAsync(image);

        using var classified = await server.Client.PostAsync("classify", Body(File.ReadAllBytes(image), "image/png"));
        using var featurized = await server.Client.PostAsync("featurize", Body(File.ReadAllBytes(ServiceFixture.Photos[0]), "image/jpeg"));
        using var health = await server.Client.GetAsync("health");

        Assert.Equal(HttpStatusCode.OK, classified.StatusCode);
        var classification = JsonDocument.Parse(await classified.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(expected.PredictedLabel, classification.GetProperty("label").GetString());
        var scores = classification.GetProperty("scores").EnumerateArray().ToDictionary(s => s.GetProperty("label").GetString()!, s => s.GetProperty("score").GetSingle());
        Assert.Equal(ServiceFixture.Classes.Order(StringComparer.Ordinal), scores.Keys.Order(StringComparer.Ordinal));
        for (var i = 0; i < ServiceFixture.Classes.Count; i++)
        {
            Assert.Equal(expected.Scores[i], scores[ServiceFixture.Classes[i]]);
        }

        Assert.Equal(HttpStatusCode.OK, featurized.StatusCode);
        var features = JsonDocument.Parse(await featurized.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(await service.FeaturizeFileAsync(ServiceFixture.Photos[0]), features.GetProperty("features").EnumerateArray().Select(f => f.GetSingle()));

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var status = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("ok", status.GetProperty("status").GetString());
        Assert.Equal(2, status.GetProperty("imagesRun").GetInt64());
    }

    [Fact]
    public async Task A_bad_image_is_a_400_with_the_reason_an_empty_body_a_400_and_an_oversized_one_a_413()
    {
        using var server = new ImageServiceProcess(fixture.ClassifierZip, "--MaxBodyBytes", "100000");
        var truncated = File.ReadAllBytes(ServiceFixture.Photos[0])[..200];

        using var bad = await server.Client.PostAsync("classify", Body(truncated, "image/jpeg"));
        using var empty = await server.Client.PostAsync("featurize", Body([], "image/png"));
        using var large = await server.Client.PostAsync("classify", Body(new byte[200_000], "image/png"));

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("Cannot decode image 'the request's image (200 bytes)'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Contains("body is empty", await empty.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
    }

    [Fact]
    public async Task Past_the_queue_bound_a_request_is_a_503_with_Retry_After_and_the_one_queued_still_answers()
    {
        // One request may wait, for up to 3 s, for a batch of 8 to fill (not at once, though the service is idle): the second finds the queue full.
        using var server = new ImageServiceProcess(fixture.ClassifierZip, "--MaxQueueLength", "1", "--MaxBatchDelayMs", "3000", "--RunAtOnceWhenIdle", "false");
        var image = File.ReadAllBytes(ServiceFixture.HeldOut[0].Path);

        var queued = server.Client.PostAsync("classify", Body(image, "image/png"));
        await WaitUntil(async () => JsonDocument.Parse(await server.Client.GetStringAsync("health")).RootElement.GetProperty("queueLength").GetInt32() == 1);
        using var refused = await server.Client.PostAsync("classify", Body(image, "image/png"));
        using var answered = await queued;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("overloaded", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }

    private static ByteArrayContent Body(byte[] bytes, string type)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    private static async Task WaitUntil(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 30 s.");
            await Task.Delay(20);
        }
    }
}
