using System.Reflection;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Transforms;

namespace GoodTransfer.ML.Service.Tests.Support;

/// <summary>
/// What the tests share, made once: a featurizer fitted on the small MoCo v2-layout fixture checkpoint (from
/// a path column), and a classifier zip saved as samples/ImageClassifier saves one (<c>LoadImages</c>, the
/// featurizer, a linear probe), trained on a few Fashion-MNIST images of three classes from samples/data.
/// </summary>
public sealed class ServiceFixture : IDisposable
{
    private readonly TemporaryFile folder = new("unused");

    public ServiceFixture()
    {
        Options = new GoodTransferOptions { CacheDirectory = Path.Combine(folder.Folder, "cache") };
        Featurizer = MLContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, inputColumnName: "Path", options: Options)
            .Fit(FeatureFixtures.Paths(MLContext, Photos));

        Training = [.. Classes.SelectMany(c => Directory.GetFiles(Path.Combine(FashionMnist, c), "*.png").Order(StringComparer.Ordinal).Take(8).Select(f => new LabelledImage { Path = f, Label = c }))];
        var images = MLContext.Data.LoadFromEnumerable(Training);
        var pipeline = MLContext.Transforms.LoadImages("Image", imageFolder: null, nameof(LabelledImage.Path))
            .Append(MLContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: Options))
            .Append(MLContext.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue))
            .Append(MLContext.Transforms.NormalizeMeanVariance("Features", fixZero: false))
            .Append(MLContext.MulticlassClassification.Trainers.LbfgsMaximumEntropy("Label", "Features"))
            .Append(MLContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(images);
        ClassifierZip = Path.Combine(folder.Folder, "image-classifier.zip");
        MLContext.Model.Save(model, images.Schema, ClassifierZip);
        model.Dispose();
    }

    /// <summary>The classes the classifier knows, sorted as its keys are.</summary>
    public static IReadOnlyList<string> Classes { get; } = ["Bag", "Sandal", "Trouser"];

    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    public static string ImageServiceFolder { get; } = Metadata("ImageServiceFolder");

    public static string FashionMnist => Path.Combine(RepositoryRoot, "samples", "data", "fashion-mnist");

    /// <summary>Fixture photos that ML.NET's image type holds exactly, JPEG and PNG.</summary>
    public static IReadOnlyList<string> Photos { get; } =
        [.. FeatureFixtures.Manifest.Images.Where(i => i.MLImageExact).Select(i => i.FullPath).Take(6)];

    /// <summary>Fashion-MNIST images the classifier was not trained on, with their classes.</summary>
    public static IReadOnlyList<LabelledImage> HeldOut { get; } =
        [.. Classes.SelectMany(c => Directory.GetFiles(Path.Combine(FashionMnist, c), "*.png").Order(StringComparer.Ordinal).Skip(20).Take(2).Select(f => new LabelledImage { Path = f, Label = c }))];

    public MLContext MLContext { get; } = new(seed: 1);

    public GoodTransferOptions Options { get; }

    /// <summary>Fitted on a path column: its Transform decodes each file as the service decodes bytes.</summary>
    public GoodTransferTransformer Featurizer { get; }

    public IReadOnlyList<LabelledImage> Training { get; }

    public string ClassifierZip { get; }

    public string Folder => folder.Folder;

    public void Dispose()
    {
        Featurizer.Dispose();
        folder.Dispose();
    }

    private static string Metadata(string key) =>
        typeof(ServiceFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}

public sealed class LabelledImage
{
    public string Path { get; set; } = string.Empty;

    public string Label { get; set; } = string.Empty;

    public override string ToString() => System.IO.Path.GetFileName(Path);
}

[CollectionDefinition(Name)]
public sealed class SharedServiceFixture : ICollectionFixture<ServiceFixture>
{
    public const string Name = "service";
}
