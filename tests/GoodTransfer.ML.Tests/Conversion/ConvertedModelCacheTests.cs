using System.Security.Cryptography;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Conversion;

/// <summary>
/// Cached ONNX models are verified, never trusted: a model cut short, overwritten with garbage or in its middle,
/// or whose <c>.sha256</c> record is garbage or unreadable, is found out by the process that next uses it (the
/// batched model at <c>Fit</c>, the one-image model when <c>Model.Save</c> or a <c>PredictionEngine</c> first
/// needs it), deleted with a warning that says why, and converted again, to the same features bit for bit. A
/// model without a record, as GoodTransfer.ML 0.1.0 left them, is recorded and kept. Each damage is done once
/// in this process after a first <c>Fit</c>, and once before another process (GoodTransfer.ML.FitCheck) fits.
/// </summary>
public sealed class ConvertedModelCacheTests : IDisposable
{
    private const string BatchedModel = "batched";
    private const string OneImageModel = "one-image";
    private const string ModelSave = "Model.Save";
    private const string PredictionEngine = "PredictionEngine";
    private const string WarningStart = "The cached ONNX model of bottleneck_moco_v2 is not usable (";
    private const string WarningEnd = "); it is deleted and converted again.";

    private static readonly string[] Images = [.. FeatureFixtures.Manifest.Images.Where(i => i.MLImageExact).Take(2).Select(i => i.FullPath)];

    private readonly TemporaryFile cache = new("unused");
    private readonly MLContext mlContext = new(seed: 1);
    private readonly GoodTransferLog log;
    private readonly IDataView data;

    public ConvertedModelCacheTests()
    {
        log = new GoodTransferLog(mlContext);
        data = FeatureFixtures.Paths(mlContext, Images);
    }

    private static string CheckpointPath => FixtureManifest.PathOf(FeatureFixtures.Manifest.Checkpoint);

    private string OnnxFolder => Path.Combine(cache.Folder, "onnx");

    private GoodTransferEstimator Estimator => mlContext.Transforms.GoodTransferFeaturize(
        Backbone.FromFile(CheckpointPath),
        inputColumnName: "Path",
        options: new GoodTransferOptions { CacheDirectory = cache.Folder, Offline = true });

    public void Dispose() => cache.Dispose();

    [Theory]
    [InlineData(CacheDamage.Truncated)]
    [InlineData(CacheDamage.Garbage)]
    [InlineData(CacheDamage.OverwrittenInTheMiddle)]
    [InlineData(CacheDamage.GarbageRecord)]
    public void A_damaged_batched_model_is_deleted_logged_and_converted_again_by_the_next_Fit_in_the_same_process(string damage)
    {
        var before = FitFeatures();
        var model = Model(BatchedModel);
        CacheDamage.Apply(model, damage);
        log.Clear();

        using var second = Estimator.Fit(data);

        AssertRepairWarning(Assert.Single(log.Warnings), model, damage);
        Assert.Contains(log.Infos, m => m.StartsWith("Converted bottleneck_moco_v2 to ONNX in ", StringComparison.Ordinal));
        FeatureFixtures.AssertSameBits(before, Features(second));
        AssertRecorded(Model(BatchedModel));
        AssertRecorded(Model(OneImageModel));
    }

    [Theory]
    [InlineData(CacheDamage.Truncated, ModelSave)]
    [InlineData(CacheDamage.Truncated, PredictionEngine)]
    [InlineData(CacheDamage.Garbage, ModelSave)]
    [InlineData(CacheDamage.Garbage, PredictionEngine)]
    [InlineData(CacheDamage.OverwrittenInTheMiddle, ModelSave)]
    [InlineData(CacheDamage.OverwrittenInTheMiddle, PredictionEngine)]
    [InlineData(CacheDamage.GarbageRecord, ModelSave)]
    [InlineData(CacheDamage.GarbageRecord, PredictionEngine)]
    public void A_one_image_model_damaged_after_Fit_is_converted_again_when_Model_Save_or_a_PredictionEngine_first_needs_it(string damage, string user)
    {
        List<float[]> before;
        using (var first = Estimator.Fit(data))
        {
            before = OneImageFeatures(first, user);
        }

        using var second = Estimator.Fit(data);
        var model = Model(OneImageModel);
        CacheDamage.Apply(model, damage);
        log.Clear();

        var after = OneImageFeatures(second, user);

        AssertRepairWarning(Assert.Single(log.Warnings), model, damage);
        FeatureFixtures.AssertSameBits(before, after);
        AssertRecorded(Model(BatchedModel));
        AssertRecorded(Model(OneImageModel));
    }

    [Fact]
    public void A_model_without_a_record_as_0_1_0_left_it_is_recorded_on_first_use_and_not_converted_again()
    {
        List<float[]> before;
        using (var first = Estimator.Fit(data))
        {
            before = Features(first);
        }

        var converted = DeleteRecords();
        log.Clear();

        using var second = Estimator.Fit(data);
        var after = Features(second);
        var predicted = OneImageFeatures(second, PredictionEngine);

        Assert.Empty(log.Warnings);
        Assert.DoesNotContain(log.Infos, m => m.StartsWith("Converted ", StringComparison.Ordinal));
        Assert.Equal(converted, LastWriteTimes());
        AssertRecorded(Model(BatchedModel));
        AssertRecorded(Model(OneImageModel));
        FeatureFixtures.AssertSameBits(before, after);
        FeatureFixtures.AssertSameBits(before, predicted);
    }

    [Theory]
    [InlineData(BatchedModel)]
    [InlineData(OneImageModel)]
    public void A_model_without_a_record_that_ONNX_Runtime_cannot_load_is_converted_again(string which)
    {
        var before = FitFeatures();
        DeleteRecords();
        var model = Model(which);
        CacheDamage.Apply(model, CacheDamage.Truncated);
        log.Clear();

        using var second = Estimator.Fit(data);
        var after = which == BatchedModel ? Features(second) : OneImageFeatures(second, PredictionEngine);

        var warning = Assert.Single(log.Warnings);
        Assert.StartsWith($"{WarningStart}{model} cannot be loaded ([ErrorCode:InvalidProtobuf] Load model from {model} failed:", warning, StringComparison.Ordinal);
        Assert.EndsWith(WarningEnd, warning, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', warning);
        FeatureFixtures.AssertSameBits(before, after);
        AssertRecorded(Model(BatchedModel));
        AssertRecorded(Model(OneImageModel));
    }

    [Theory]
    [InlineData(BatchedModel, CacheDamage.Truncated)]
    [InlineData(BatchedModel, CacheDamage.Garbage)]
    [InlineData(BatchedModel, CacheDamage.OverwrittenInTheMiddle)]
    [InlineData(BatchedModel, CacheDamage.GarbageRecord)]
    [InlineData(BatchedModel, CacheDamage.UnreadableRecord)]
    [InlineData(OneImageModel, CacheDamage.Garbage)]
    [InlineData(OneImageModel, CacheDamage.OverwrittenInTheMiddle)]
    [InlineData(OneImageModel, CacheDamage.UnreadableRecord)]
    public void A_damaged_model_is_found_out_by_a_fresh_process_that_fits_on_the_cache_and_converted_again(string which, string damage)
    {
        List<float[]> features;
        List<float[]> predicted;
        using (var first = Estimator.Fit(data))
        {
            features = Features(first);
            predicted = OneImageFeatures(first, PredictionEngine);
        }

        // Root reads any file, so an unreadable record needs a process that file modes bind.
        var unprivileged = damage == CacheDamage.UnreadableRecord;
        if (unprivileged)
        {
            Unprivileged.MakeWritable(cache.Folder);
        }

        // The time is put back: a fresh process knows no hashes and must read what is there.
        var model = Model(which);
        CacheDamage.Apply(model, damage, keepLastWriteTime: true);

        var run = FitCheck.Fit(cache.Folder, CheckpointPath, Images, which == BatchedModel ? ["--offline"] : ["--offline", "--predict"], unprivileged).Succeeded();

        var warning = Assert.Single(run.Warnings);
        AssertRepairWarning(warning, model, damage);
        FeatureFixtures.AssertSameBits(features, run.Features);
        if (which == OneImageModel)
        {
            // Found when the PredictionEngine needed it, not at Fit.
            Assert.True(
                run.Lines.ToList().IndexOf("log warning: " + warning) > run.Lines.ToList().FindLastIndex(l => l.StartsWith("features: ", StringComparison.Ordinal)),
                $"the one-image model was checked before it was needed:\n{run}");
            FeatureFixtures.AssertSameBits(predicted, run.Predicted);
        }

        AssertRecorded(Model(BatchedModel));
        AssertRecorded(Model(OneImageModel));
    }

    [Fact]
    public void A_damaged_one_image_model_is_converted_again_when_a_fresh_process_saves_the_model()
    {
        List<float[]> before;
        using (var first = Estimator.Fit(data))
        {
            before = OneImageFeatures(first, ModelSave);
        }

        var model = Model(OneImageModel);
        CacheDamage.Apply(model, CacheDamage.OverwrittenInTheMiddle, keepLastWriteTime: true);
        using var saved = new TemporaryFile("model.zip");

        var run = FitCheck.Fit(cache.Folder, CheckpointPath, Images, ["--offline", "--save", saved.Path]).Succeeded();

        AssertRepairWarning(Assert.Single(run.Warnings), model, CacheDamage.OverwrittenInTheMiddle);
        var loaded = mlContext.Model.Load(saved.Path, out _);
        try
        {
            FeatureFixtures.AssertSameBits(before, FeatureFixtures.Column(loaded.Transform(data), "Features"));
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }

        AssertRecorded(Model(OneImageModel));
    }

    [Fact]
    public void A_model_without_a_record_is_recorded_by_a_fresh_process_and_not_converted_again()
    {
        var before = FitFeatures();
        var converted = DeleteRecords();

        var run = FitCheck.Fit(cache.Folder, CheckpointPath, Images, ["--offline", "--predict"]).Succeeded();

        Assert.Empty(run.Warnings);
        Assert.DoesNotContain(run.Infos, m => m.StartsWith("Converted ", StringComparison.Ordinal));
        Assert.Equal(converted, LastWriteTimes());
        AssertRecorded(Model(BatchedModel));
        AssertRecorded(Model(OneImageModel));
        FeatureFixtures.AssertSameBits(before, run.Features);
    }

    /// <summary>The warning names the model and the reason that fits the damage.</summary>
    private static void AssertRepairWarning(string warning, string model, string damage)
    {
        var reason = damage switch
        {
            CacheDamage.GarbageRecord => $"its record '{model}.sha256' is not a SHA-256 record (it should hold 64 hex digits, two spaces and the file name)",
            CacheDamage.UnreadableRecord => $"its record '{model}.sha256' cannot be read (Access to the path '{model}.sha256' is denied.)",
            _ => $"{model} has SHA-256 ",
        };
        Assert.StartsWith(WarningStart + reason, warning, StringComparison.Ordinal);
        if (damage is not (CacheDamage.GarbageRecord or CacheDamage.UnreadableRecord))
        {
            Assert.Contains(" was recorded when it was converted: the file has changed on disk", warning, StringComparison.Ordinal);
        }

        Assert.EndsWith(WarningEnd, warning, StringComparison.Ordinal);
    }

    /// <summary>The model has a record, in sha256sum's format, of the bytes it holds now.</summary>
    private static void AssertRecorded(string model)
    {
        var sha256 = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(model))).ToLowerInvariant();
        Assert.Equal($"{sha256}  {Path.GetFileName(model)}\n", File.ReadAllText(model + ".sha256"));
    }

    private string Model(string which)
    {
        var suffix = which == BatchedModel ? "-batch.onnx" : "-single.onnx";
        return Assert.Single(Directory.GetFiles(OnnxFolder, "*" + suffix));
    }

    private List<float[]> FitFeatures()
    {
        using var model = Estimator.Fit(data);
        return Features(model);
    }

    private List<float[]> Features(GoodTransferTransformer model) => FeatureFixtures.Column(model.Transform(data), "Features");

    /// <summary>The features of the chain that holds the one-image model: after a save and a load, or from a PredictionEngine.</summary>
    private List<float[]> OneImageFeatures(GoodTransferTransformer model, string user)
    {
        if (user == ModelSave)
        {
            return FeatureFixtures.FeaturesAfterSaveAndLoad(mlContext, model, data);
        }

        using var engine = mlContext.Model.CreatePredictionEngine<FeatureFixtures.PathRow, FeatureRow>(model);
        return [.. Images.Select(image => engine.Predict(new FeatureFixtures.PathRow { Path = image }).Features)];
    }

    /// <summary>Deletes both models' records, as GoodTransfer.ML 0.1.0 wrote none; returns the models' last write times.</summary>
    private DateTime[] DeleteRecords()
    {
        File.Delete(Model(BatchedModel) + ".sha256");
        File.Delete(Model(OneImageModel) + ".sha256");
        return LastWriteTimes();
    }

    private DateTime[] LastWriteTimes() => [File.GetLastWriteTimeUtc(Model(BatchedModel)), File.GetLastWriteTimeUtc(Model(OneImageModel))];

    public sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }
}
