using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Tests.Runtime;

/// <summary>
/// On real JPEG and PNG files, the ML.NET featurizer gives the features that torchvision's eval
/// pipeline gives in real PyTorch with the same checkpoint (cosine ≥ 0.999 per image; in practice
/// the preprocessing is bit-exact and the agreement is far closer).
/// </summary>
public sealed class FeaturizerParityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double MinCosine = 0.999;

    [Fact]
    public void Image_path_and_byte_columns_all_match_PyTorch_features()
    {
        var mlContext = new MLContext(seed: 1);
        var images = FeatureFixtures.Manifest.Images;
        var paths = FeatureFixtures.Paths(mlContext, images.Select(i => i.FullPath));
        using var cache = new TemporaryFile("unused");
        var options = new GoodTransferOptions { CacheDirectory = cache.Folder };

        var fromImages = mlContext.Transforms.LoadImages("Image", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: options))
            .Fit(paths);
        var fromPaths = mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: options).Fit(paths);
        var fromBytes = mlContext.Transforms.LoadRawImageBytes("Bytes", null, "Path")
            .Append(mlContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Bytes", options: options))
            .Fit(paths);

        var imageFeatures = FeatureFixtures.Column(fromImages.Transform(paths), "Features");
        var pathFeatures = FeatureFixtures.Column(fromPaths.Transform(paths), "Features");
        var byteFeatures = FeatureFixtures.Column(fromBytes.Transform(paths), "Features");

        for (var i = 0; i < images.Count; i++)
        {
            var reference = FixtureManifest.ReadFloats(images[i].Reference);
            AssertCosine(pathFeatures[i], reference, $"{images[i]} (path)");
            AssertCosine(byteFeatures[i], reference, $"{images[i]} (bytes)");
            Assert.Equal(pathFeatures[i], byteFeatures[i]);
            if (images[i].MLImageExact)
            {
                // ML.NET's MLImage premultiplies alpha and keeps 8 bits, so only such images can be exact.
                AssertCosine(imageFeatures[i], reference, $"{images[i]} (MLImage)");
            }
        }
    }

    private void AssertCosine(float[] actual, float[] reference, string what)
    {
        Assert.Equal(reference.Length, actual.Length);
        var cosine = Similarity.Cosine(actual, reference);
        var maxError = actual.Zip(reference, (a, r) => Math.Abs(a - r)).Max();
        output.WriteLine($"{what}: cosine {cosine:F8}, max abs error {maxError:E2}");
        Assert.True(cosine >= MinCosine, $"{what}: cosine {cosine:F6} < {MinCosine}");
    }
}
