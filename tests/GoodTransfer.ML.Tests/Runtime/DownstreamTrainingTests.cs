using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>
/// ML.NET trainers consume the features unchanged and learn a real labelled image set from them:
/// Fashion-MNIST from Debian's dataset-fashion-mnist package (.ci/run installs it).
/// </summary>
public sealed class DownstreamTrainingTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int TrainImages = 1000;
    private const int TestImages = 400;

    [Fact]
    public void Sdca_and_LightGbm_learn_Fashion_MNIST_from_the_features_far_above_chance()
    {
        DataViewTypeManager.Register(new ImageDataViewType(), typeof(MLImage));
        var mlContext = new MLContext(seed: 7);
        var train = mlContext.Data.LoadFromEnumerable(Load("train", TrainImages));
        var test = mlContext.Data.LoadFromEnumerable(Load("t10k", TestImages));
        using var cache = new TemporaryFile("unused");
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder, FeatureLayer = FeatureLayer.AllLayers };
        var featurizer = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: options).Fit(train);

        // Featurize once; both trainers read the cached features.
        var trainFeatures = mlContext.Data.Cache(featurizer.Transform(train));
        var testFeatures = mlContext.Data.Cache(featurizer.Transform(test));
        var labels = mlContext.Transforms.Conversion.MapValueToKey("LabelKey", "Label");
        var sdca = labels
            .Append(mlContext.Transforms.NormalizeMinMax("Normalized", "Features"))
            .Append(mlContext.MulticlassClassification.Trainers.SdcaMaximumEntropy("LabelKey", "Normalized"));
        var lightGbm = labels.Append(mlContext.MulticlassClassification.Trainers.LightGbm("LabelKey", "Features"));

        var sdcaAccuracy = Accuracy(mlContext, sdca.Fit(trainFeatures), testFeatures);
        var lightGbmAccuracy = Accuracy(mlContext, lightGbm.Fit(trainFeatures), testFeatures);

        output.WriteLine($"Fashion-MNIST, {TrainImages} train / {TestImages} test images: SdcaMaximumEntropy {sdcaAccuracy:F3}, LightGbm {lightGbmAccuracy:F3}");

        // Ten balanced classes: chance is 0.10.
        Assert.True(sdcaAccuracy > 0.5, $"SdcaMaximumEntropy accuracy {sdcaAccuracy:F3}");
        Assert.True(lightGbmAccuracy > 0.5, $"LightGbm accuracy {lightGbmAccuracy:F3}");
    }

    private static double Accuracy(MLContext mlContext, ITransformer model, IDataView test) =>
        mlContext.MulticlassClassification.Evaluate(model.Transform(test), "LabelKey").MicroAccuracy;

    private static List<FashionRow> Load(string split, int count)
    {
        var (pixels, labels) = FashionMnist.Load(split, count);
        var rows = new List<FashionRow>(count);
        for (var i = 0; i < count; i++)
        {
            var bgra = new byte[FashionMnist.Side * FashionMnist.Side * 4];
            for (var p = 0; p < FashionMnist.Side * FashionMnist.Side; p++)
            {
                var v = pixels[i][p];
                bgra[(p * 4) + 0] = v;
                bgra[(p * 4) + 1] = v;
                bgra[(p * 4) + 2] = v;
                bgra[(p * 4) + 3] = 255;
            }

            rows.Add(new FashionRow { Image = MLImage.CreateFromPixels(FashionMnist.Side, FashionMnist.Side, MLPixelFormat.Bgra32, bgra), Label = labels[i] });
        }

        return rows;
    }

    private sealed class FashionRow
    {
        public MLImage? Image { get; set; }

        public uint Label { get; set; }
    }
}
