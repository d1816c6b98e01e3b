using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// Feature vectors on their first two principal components, by ML.NET's own PCA
/// (<c>ProjectToPrincipalComponents</c>, randomized, with a fixed seed so that reruns draw the same picture),
/// after standardizing each feature as the linear probe does (<c>NormalizeMeanVariance</c>).
/// </summary>
internal sealed class Projection
{
    private const string Standardized = "Standardized";
    private const string Projected = "Projected";

    private Projection(IReadOnlyList<double[]> points, IReadOnlyList<double> explained)
    {
        Points = points;
        ExplainedVariance = explained;
    }

    /// <summary>Each row's coordinates on the first and second component.</summary>
    public IReadOnlyList<double[]> Points { get; }

    /// <summary>The share of the standardized features' total variance that each of the two components explains.</summary>
    public IReadOnlyList<double> ExplainedVariance { get; }

    public static Projection Of(MLContext mlContext, FeatureSet features)
    {
        var rows = Enumerable.Range(0, features.Images.Count).ToList();
        var view = features.AsDataView(mlContext, rows);
        var pipeline = mlContext.Transforms.NormalizeMeanVariance(Standardized, "Features", fixZero: false)
            .Append(mlContext.Transforms.ProjectToPrincipalComponents(Projected, Standardized, rank: 2, seed: 1));
        var transformed = pipeline.Fit(view).Transform(view);
        var standardized = transformed.GetColumn<float[]>(Standardized).ToList();
        var points = transformed.GetColumn<float[]>(Projected).Select(p => new double[] { p[0], p[1] }).ToList();

        // ML.NET's PCA does not report the variance it explains. The standardized features are centred, so their
        // total variance is their sum of squares, and the projections' (centred too: ensureZeroMean) is theirs.
        var total = standardized.Sum(row => row.Sum(v => (double)v * v));
        var explained = Enumerable.Range(0, 2).Select(k => total == 0 ? 0 : points.Sum(p => p[k] * p[k]) / total).ToList();
        return new Projection(points, explained);
    }
}
