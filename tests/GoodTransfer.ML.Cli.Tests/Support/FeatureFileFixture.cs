using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// The real fixture images copied into one class subfolder each (astronaut, chelsea, coffee, rocket: the image's name up
/// to its first underscore or dot), and a featurizer fitted once on the MoCo v2-layout fixture checkpoint, with its own
/// features of every image in <see cref="FeaturizationPlan.ListImages"/> order: what every feature file must hold.
/// </summary>
public sealed class FeatureFileFixture : IDisposable
{
    private readonly TemporaryFile folder = new("unused");

    public FeatureFileFixture()
    {
        ImageFolder = Path.Combine(folder.Folder, "images");
        foreach (var image in FeatureFixtures.Manifest.Images)
        {
            var name = Path.GetFileName(image.File);
            var label = name.Split('_', '.')[0];
            Directory.CreateDirectory(Path.Combine(ImageFolder, label));
            File.Copy(image.FullPath, Path.Combine(ImageFolder, label, name));
        }

        Images = FeaturizationPlan.ListImages(ImageFolder);
        var options = new GoodTransferOptions { CacheDirectory = Path.Combine(folder.Folder, "cache"), Offline = true };
        var plan = FeaturizationPlan.Create(Images, Path.Combine(folder.Folder, "unused.parquet"));
        Featurizer = MLContext.Transforms.GoodTransferFeaturize(FeatureFixtures.Backbone, options: options).Fit(plan.ToDataView(MLContext));
        Expected = FeatureFixtures.Column(Featurizer.Transform(plan.ToDataView(MLContext)), "Features");
    }

    public MLContext MLContext { get; } = new(seed: 1);

    /// <summary>A folder with one subfolder per class.</summary>
    public string ImageFolder { get; }

    /// <summary>The images of <see cref="ImageFolder"/>, sorted, with their classes.</summary>
    public IReadOnlyList<FeatureInput> Images { get; }

    public GoodTransferTransformer Featurizer { get; }

    /// <summary>The featurizer's own output for <see cref="Images"/>, in order.</summary>
    public IReadOnlyList<float[]> Expected { get; }

    public FeatureFileMetadata Metadata => FeatureFileMetadata.For(Featurizer);

    /// <summary>The expected rows of a feature file of <see cref="Images"/>.</summary>
    public IReadOnlyList<FeatureRow> Rows => [.. Images.Select((image, i) => new FeatureRow(image.Path, image.Label, Expected[i]))];

    public void Dispose()
    {
        Featurizer.Dispose();
        folder.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class FeatureFileGroup : ICollectionFixture<FeatureFileFixture>
{
    public const string Name = "Feature files";
}
