using System.Text.Json;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Onnx;

/// <summary>
/// The converted ONNX featurizer reproduces real PyTorch: for every committed checkpoint and every
/// feature layer, ONNX Runtime's output on the fixed inputs matches the outputs torchvision computed
/// (cosine ≥ 0.99999 per image, max abs error ≤ 1e-3 of the largest reference value).
/// </summary>
public sealed class PyTorchParityTests
{
    private const double MinCosine = 0.99999;
    private const double RelativeTolerance = 1e-3;

    public static TheoryData<string, FeatureLayer> Cases()
    {
        var cases = new TheoryData<string, FeatureLayer>();
        foreach (var checkpoint in FixtureManifest.Instance.Checkpoints)
        {
            foreach (var layer in Enum.GetValues<FeatureLayer>())
            {
                cases.Add(checkpoint.File, layer);
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Onnx_features_match_PyTorch(string file, FeatureLayer layer)
    {
        var manifest = FixtureManifest.Instance;
        var fixture = manifest.Checkpoint(file);
        var model = manifest.Models[fixture.Model];
        using var onnx = new TemporaryFile("model.onnx");

        var export = Backbone.FromFile(fixture.FullPath).ExportOnnx(onnx.Path, new GoodTransferOptions { FeatureLayer = layer });
        var batch = manifest.Input.Shape[0];
        var actual = OnnxScorer.Run(onnx.Path, manifest.InputTensor(), batch);

        var reference = Reference(fixture, layer, batch);
        Assert.Equal(reference.Length / batch, export.FeatureSize);
        Assert.Equal(layer == FeatureLayer.AllLayers ? model.StageOutputs.Sum() : model.StageOutputs[LayerIndex(layer)], export.FeatureSize);
        Similarity.AssertClose(actual, reference, batch, MinCosine, RelativeTolerance, $"{fixture} {layer}");
    }

    [Fact]
    public void Full_size_ResNet50_MoCo_checkpoint_matches_PyTorch()
    {
        using var work = new TemporaryFile("unused");
        var made = PythonOracle.Run(TimeSpan.FromMinutes(5), PythonOracle.FixtureScript("make_resnet50_reference.py"), work.Folder);
        using var paths = JsonDocument.Parse(made.Trim().Split('\n')[^1]);
        var onnxPath = Path.Combine(work.Folder, "resnet50.onnx");

        var export = Backbone.FromFile(Path.Combine(work.Folder, "resnet50_moco.pth")).ExportOnnx(onnxPath);

        Assert.Equal("resnet50", export.Architecture);
        Assert.Equal(2048, export.FeatureSize);
        var input = File.ReadAllBytes(Path.Combine(work.Folder, "inputs.u8")).Select(b => b / 255f).ToArray();
        var batch = input.Length / (3 * 224 * 224);
        var actual = OnnxScorer.Run(onnxPath, input, batch);
        var referenceBytes = File.ReadAllBytes(Path.Combine(work.Folder, "resnet50.layer4.f32"));
        var reference = new float[referenceBytes.Length / 4];
        Buffer.BlockCopy(referenceBytes, 0, reference, 0, referenceBytes.Length);
        Similarity.AssertClose(actual, reference, batch, MinCosine, RelativeTolerance, "full-size ResNet-50");
        OnnxChecker.AssertValid(onnxPath);
    }

    private static int LayerIndex(FeatureLayer layer) => layer switch
    {
        FeatureLayer.Layer1 => 0,
        FeatureLayer.Layer2 => 1,
        FeatureLayer.Layer3 => 2,
        _ => 3,
    };

    private static float[] Reference(CheckpointFixture fixture, FeatureLayer layer, int batch)
    {
        if (layer != FeatureLayer.AllLayers)
        {
            return FixtureManifest.ReadFloats(fixture.References[$"layer{LayerIndex(layer) + 1}"]);
        }

        // Concatenation of the four pooled stages, row by row.
        var stages = Enumerable.Range(1, 4).Select(i => FixtureManifest.ReadFloats(fixture.References[$"layer{i}"])).ToArray();
        return Enumerable.Range(0, batch)
            .SelectMany(row => stages.SelectMany(stage => stage.Skip(row * (stage.Length / batch)).Take(stage.Length / batch)))
            .ToArray();
    }
}
