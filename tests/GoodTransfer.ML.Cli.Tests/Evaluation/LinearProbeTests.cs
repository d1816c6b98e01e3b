using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Evaluation;

[Collection(FeatureFileGroup.Name)]
public sealed class LinearProbeTests(FeatureFileFixture fixture)
{
    [Fact]
    public void Cross_validation_scores_every_fold_and_repeats_with_its_seed()
    {
        var data = FeatureFile.ToDataView(fixture.MLContext, fixture.Rows);

        var first = LinearProbe.CrossValidate(fixture.MLContext, data, folds: 3, seed: 1);
        var second = LinearProbe.CrossValidate(fixture.MLContext, data, folds: 3, seed: 1);

        Assert.Equal(3, first.FoldAccuracies.Count);
        Assert.All(first.FoldAccuracies, a => Assert.InRange(a, 0, 1));
        Assert.Equal(first.FoldAccuracies, second.FoldAccuracies);
        Assert.Equal(first.FoldAccuracies.Average(), first.Mean, 12);
    }

    [Fact]
    public void More_folds_than_rows_or_one_class_is_refused()
    {
        var data = FeatureFile.ToDataView(fixture.MLContext, fixture.Rows);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LinearProbe.CrossValidate(fixture.MLContext, data, folds: fixture.Rows.Count + 1));
        Assert.Equal("folds", e.ParamName);

        var one = FeatureFile.ToDataView(fixture.MLContext, [.. fixture.Rows.Select(r => r with { Label = "cat" })]);
        var single = Assert.Throws<ArgumentException>(() => LinearProbe.CrossValidate(fixture.MLContext, one, folds: 3));
        Assert.StartsWith("The data has one class ('cat'); a classifier needs at least two.", single.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Standard_deviation_is_the_sample_one()
    {
        var result = new LinearProbeResult([0.5, 0.7, 0.9]);

        Assert.Equal(0.7, result.Mean, 12);
        Assert.Equal(0.2, result.StandardDeviation, 12);
    }
}
