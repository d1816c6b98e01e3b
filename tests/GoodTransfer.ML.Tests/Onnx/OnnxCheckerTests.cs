using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Onnx;

/// <summary>The ONNX file is a product too: it must pass the reference checker that other runtimes trust.</summary>
public sealed class OnnxCheckerTests
{
    [Theory]
    [InlineData(FeatureLayer.Layer4)]
    [InlineData(FeatureLayer.AllLayers)]
    public void Exported_models_pass_onnx_checker_and_carry_their_provenance(FeatureLayer layer)
    {
        var fixture = FixtureManifest.Instance.Checkpoints.First(c => c.Model == "mini_bottleneck");
        using var onnx = new TemporaryFile("model.onnx");

        var export = Backbone.FromFile(fixture.FullPath).ExportOnnx(onnx.Path, new GoodTransferOptions { FeatureLayer = layer });

        OnnxChecker.AssertValid(onnx.Path);
        var metadata = OnnxChecker.Metadata(onnx.Path);
        Assert.Equal(export.CheckpointSha256, metadata["goodtransfer.checkpoint_sha256"]);
        Assert.Equal(Path.GetFileNameWithoutExtension(fixture.File), metadata["goodtransfer.backbone"]);
        Assert.Equal(64, export.CheckpointSha256.Length);
    }
}

/// <summary>Runs Debian's python3-onnx checker on a model file.</summary>
public static class OnnxChecker
{
    public static void AssertValid(string onnxPath)
    {
        var output = PythonOracle.Run(
            TimeSpan.FromMinutes(2),
            "-c",
            "import sys, onnx; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print('valid', m.ir_version, m.opset_import[0].version)",
            onnxPath);
        Assert.StartsWith("valid", output, StringComparison.Ordinal);
    }

    public static Dictionary<string, string> Metadata(string onnxPath)
    {
        var output = PythonOracle.Run(
            TimeSpan.FromMinutes(2),
            "-c",
            "import sys, json, onnx; m = onnx.load(sys.argv[1], load_external_data=False); print(json.dumps({p.key: p.value for p in m.metadata_props}))",
            onnxPath);
        return System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(output)!;
    }
}
