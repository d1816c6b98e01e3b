using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Onnx;

/// <summary>
/// A backbone whose eval transform is not ImageNet's default converts to a featurizer that reproduces
/// real PyTorch under that transform: the crops are torchvision's and the features PyTorch's (cosine
/// ≥ 0.99999 per image, max abs error ≤ 1e-3 of the largest reference value), for torchvision's newer
/// ResNet-50 transform (Resize(232), CenterCrop(224)) and for another crop, mean and std.
/// </summary>
public sealed class PreprocessingParityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double MinCosine = 0.99999;
    private const double RelativeTolerance = 1e-3;

    public static TheoryData<string> Transforms => PreprocessingFixtures.TransformNames();

    [Theory]
    [MemberData(nameof(Transforms))]
    public void Onnx_features_under_another_preprocessing_match_PyTorch(string name)
    {
        var fixture = PreprocessingFixtures.Instance.Transform(name);
        var preprocessing = fixture.Preprocessing;
        var transform = new TorchvisionTransform(preprocessing);
        using var folder = new TemporaryFolder();
        var path = folder.File("model.onnx");
        var stateDict = CheckpointReader.Read(FixtureManifest.PathOf(PreprocessingFixtures.Instance.Checkpoint));

        var result = ResNetOnnxConverter.Convert(stateDict, path, FeatureLayer.Layer4, preprocessing, new Dictionary<string, string>());
        var images = new float[fixture.Images.Count * transform.TensorLength];
        for (var i = 0; i < fixture.Images.Count; i++)
        {
            transform.ToTensor(ImageDecoder.DecodeFile(fixture.Images[i].FullPath), images.AsSpan(i * transform.TensorLength, transform.TensorLength));
        }

        var actual = OnnxScorer.Run(path, images, fixture.Images.Count, preprocessing.CropSize);

        var reference = fixture.Images.SelectMany(i => i.ReadFeatures()).ToArray();
        Assert.Equal(reference.Length, fixture.Images.Count * result.FeatureSize);
        for (var i = 0; i < fixture.Images.Count; i++)
        {
            var row = Range(i, result.FeatureSize);
            output.WriteLine($"{name} {fixture.Images[i]}: cosine {Similarity.Cosine(actual.AsSpan(row), reference.AsSpan(row)):F8}");
        }

        Similarity.AssertClose(actual, reference, fixture.Images.Count, MinCosine, RelativeTolerance, name);
        var metadata = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(preprocessing.ResizeSize.ToString(System.Globalization.CultureInfo.InvariantCulture), metadata[OnnxMetadataKeys.ResizeSize]);
        Assert.Equal(preprocessing.CropSize.ToString(System.Globalization.CultureInfo.InvariantCulture), metadata[OnnxMetadataKeys.CropSize]);
        Assert.Equal(preprocessing.Mean, metadata[OnnxMetadataKeys.Mean].Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(preprocessing.Std, metadata[OnnxMetadataKeys.Std].Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [MemberData(nameof(Transforms))]
    public void The_references_tell_the_transform_apart_from_ImageNets_default(string name)
    {
        // Were the preprocessing ignored, the featurizer would give the default transform's features:
        // those differ from these references by far more than the parity test allows.
        var fixture = PreprocessingFixtures.Instance.Transform(name);
        var defaults = FeatureFixtures.Manifest.Images;

        foreach (var image in fixture.Images)
        {
            var reference = image.ReadFeatures();
            var imageNet = FixtureManifest.ReadFloats(defaults.Single(d => d.File == "images/" + image.File).Reference);
            var worst = reference.Zip(imageNet, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst > 10 * RelativeTolerance * reference.Max(Math.Abs), $"{name} {image}: max abs difference from ImageNet's default features only {worst:E2}");
        }
    }

    private static Range Range(int row, int length) => new(row * length, (row + 1) * length);
}
