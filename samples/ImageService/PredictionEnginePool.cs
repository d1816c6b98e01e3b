using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Samples.ImageService;

/// <summary>
/// The naive service, for the load test's comparison: the usual ML.NET way, a <see cref="PredictionEngine{TSrc, TDst}"/>
/// per concurrent request, taken from a pool (made when none is free, so there are as many as requests at
/// once), each running the saved model on one image: its <c>LoadImages</c> step reads the image from a
/// temporary file, as the model was saved to read paths.
/// </summary>
internal sealed class PredictionEnginePool : IDisposable
{
    private readonly MLContext mlContext = new();
    private readonly ITransformer model;
    private readonly ConcurrentBag<PredictionEngine<ModelInput, ModelOutput>> idle = [];
    private readonly string folder = Directory.CreateTempSubdirectory("imageservice-").FullName;
    private int engines;

    public PredictionEnginePool(string modelPath)
    {
        ModelPath = modelPath;
        model = mlContext.Model.Load(modelPath, out var schema);
        var names = default(VBuffer<ReadOnlyMemory<char>>);
        model.GetOutputSchema(schema)["Score"].GetSlotNames(ref names);
        ClassNames = [.. names.DenseValues().Select(n => n.ToString())];
    }

    public string ModelPath { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public int Engines => Volatile.Read(ref engines);

    public async Task<ImagePrediction> PredictAsync(byte[] image, CancellationToken cancel)
    {
        var file = Path.Combine(folder, Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(file, image, cancel);
        try
        {
            if (!idle.TryTake(out var engine))
            {
                engine = mlContext.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model, new PredictionEngineOptions { OwnsTransformer = false });
                Interlocked.Increment(ref engines);
            }

            try
            {
                var output = engine.Predict(new ModelInput { Path = file });
                return new ImagePrediction(output.PredictedLabel, output.Score, output.Features);
            }
            finally
            {
                idle.Add(engine);
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    public void Dispose()
    {
        while (idle.TryTake(out var engine))
        {
            engine.Dispose();
        }

        (model as IDisposable)?.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>The input schema of the models samples/ImageClassifier saves; Label is left empty for a new image.</summary>
    private sealed class ModelInput
    {
        public string Path { get; set; } = string.Empty;

        public string Label { get; set; } = string.Empty;
    }

    private sealed class ModelOutput
    {
        public string PredictedLabel { get; set; } = string.Empty;

        public float[] Score { get; set; } = [];

        public float[] Features { get; set; } = [];
    }
}
