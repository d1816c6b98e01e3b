using GoodTransfer.ML;
using GoodTransfer.ML.Samples.ImageService;

// A web service over the classifier that samples/ImageClassifier saves:
//
//   dotnet run --project samples/ImageService -- --Model image-classifier.zip [--Mode batched|naive] [--urls http://127.0.0.1:5000]
//
// POST /featurize and POST /classify take an image (JPEG or PNG bytes) as the request body; GET /health says
// how the service is doing; GET / is a page to try it in a browser. --Mode naive serves /classify the usual
// ML.NET way instead, one PredictionEngine per request from a pool, for the load test's comparison.
var builder = WebApplication.CreateBuilder(args);
var settings = ServiceSettings.From(builder.Configuration);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = settings.MaxBodyBytes);
builder.Services.AddSingleton(settings);
if (settings.Naive)
{
    builder.Services.AddSingleton(_ => new PredictionEnginePool(settings.ModelPath));
}
else
{
    builder.Services.AddGoodTransfer(settings.ModelPath, options =>
    {
        options.MaxQueueLength = settings.MaxQueueLength;
        options.MaxBatchDelay = settings.MaxBatchDelay;
        options.RunAtOnceWhenIdle = settings.RunAtOnceWhenIdle;
        options.BatchSize = settings.BatchSize;
    });
}

var app = builder.Build();

// Loaded now, so that a bad model fails at startup rather than at the first request.
object model = settings.Naive ? app.Services.GetRequiredService<PredictionEnginePool>() : app.Services.GetRequiredService<FeaturizerService>();
Console.WriteLine($"Serving {settings.ModelPath} ({(settings.Naive ? "naive: a PredictionEngine per request" : "batched")}).");

app.MapGet("/", () => Results.Content(Page.Html, "text/html; charset=utf-8"));
app.MapGet("/health", () => Results.Json(model is FeaturizerService service ? Endpoints.Health(service) : Endpoints.Health((PredictionEnginePool)model)));
app.MapPost("/featurize", (Delegate)((HttpContext context) => Endpoints.Featurize(context, model)));
app.MapPost("/classify", (Delegate)((HttpContext context) => Endpoints.Classify(context, model)));
app.Run();
