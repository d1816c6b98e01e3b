namespace GoodTransfer.ML.Samples;

/// <summary>
/// A two-dimensional projection of feature vectors onto their first two principal components, computed in
/// double precision by orthogonal (block power) iteration on the centred data, which needs only
/// rows x features memory. Deterministic: a fixed start, a fixed order of sums, and a fixed sign per component.
/// </summary>
internal sealed class PrincipalComponents
{
    private const int MaxIterations = 1000;
    private const double Tolerance = 1e-10;

    private PrincipalComponents(double[][] points, double[] explained)
    {
        Points = points;
        ExplainedVariance = explained;
    }

    /// <summary>Each row's coordinates on the first and second component.</summary>
    public IReadOnlyList<double[]> Points { get; }

    /// <summary>The share of the total variance that each of the two components explains.</summary>
    public IReadOnlyList<double> ExplainedVariance { get; }

    /// <summary>
    /// Standardizes each feature (zero mean, unit variance; constant features are left at zero), as the probe
    /// sees them, and projects the rows onto the two directions of largest variance.
    /// </summary>
    public static PrincipalComponents Project(IReadOnlyList<float[]> vectors)
    {
        var rows = vectors.Count;
        var columns = vectors[0].Length;
        var data = Standardize(vectors, rows, columns);
        var total = data.Sum(row => row.Sum(v => v * v));

        // Start from two fixed, independent directions and iterate Q <- orth(X^T X Q) until it settles.
        var basis = new double[2][];
        basis[0] = [.. Enumerable.Repeat(1.0, columns)];
        basis[1] = [.. Enumerable.Range(0, columns).Select(c => c % 2 == 0 ? 1.0 : -1.0)];
        Orthonormalize(basis);
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            var next = basis.Select(q => Gram(data, q)).ToArray();
            Orthonormalize(next);
            var change = Enumerable.Range(0, 2).Max(k => 1 - Math.Abs(Dot(next[k], basis[k])));
            basis = next;
            if (change < Tolerance)
            {
                break;
            }
        }

        // An eigenvector's sign is arbitrary: make its largest loading positive, so that reruns draw the same picture.
        foreach (var q in basis)
        {
            var largest = q.MaxBy(Math.Abs);
            if (largest < 0)
            {
                for (var c = 0; c < columns; c++)
                {
                    q[c] = -q[c];
                }
            }
        }

        var points = data.Select(row => new[] { Dot(row, basis[0]), Dot(row, basis[1]) }).ToArray();
        var explained = Enumerable.Range(0, 2).Select(k => total == 0 ? 0 : points.Sum(p => p[k] * p[k]) / total).ToArray();
        return new PrincipalComponents(points, explained);
    }

    private static double[][] Standardize(IReadOnlyList<float[]> vectors, int rows, int columns)
    {
        var mean = new double[columns];
        var spread = new double[columns];
        foreach (var vector in vectors)
        {
            for (var c = 0; c < columns; c++)
            {
                mean[c] += vector[c];
            }
        }

        for (var c = 0; c < columns; c++)
        {
            mean[c] /= rows;
        }

        foreach (var vector in vectors)
        {
            for (var c = 0; c < columns; c++)
            {
                spread[c] += (vector[c] - mean[c]) * (vector[c] - mean[c]);
            }
        }

        for (var c = 0; c < columns; c++)
        {
            spread[c] = Math.Sqrt(spread[c] / rows);
        }

        return [.. vectors.Select(vector => Enumerable.Range(0, columns).Select(c => spread[c] > 0 ? (vector[c] - mean[c]) / spread[c] : 0).ToArray())];
    }

    /// <summary>X^T (X q), without forming X^T X.</summary>
    private static double[] Gram(double[][] data, double[] q)
    {
        var result = new double[q.Length];
        foreach (var row in data)
        {
            var projection = Dot(row, q);
            for (var c = 0; c < q.Length; c++)
            {
                result[c] += projection * row[c];
            }
        }

        return result;
    }

    /// <summary>Gram-Schmidt on the two vectors, in place.</summary>
    private static void Orthonormalize(double[][] basis)
    {
        Scale(basis[0]);
        var overlap = Dot(basis[0], basis[1]);
        for (var c = 0; c < basis[1].Length; c++)
        {
            basis[1][c] -= overlap * basis[0][c];
        }

        Scale(basis[1]);
    }

    private static void Scale(double[] vector)
    {
        var norm = Math.Sqrt(Dot(vector, vector));
        if (norm == 0)
        {
            return;
        }

        for (var c = 0; c < vector.Length; c++)
        {
            vector[c] /= norm;
        }
    }

    private static double Dot(double[] a, double[] b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
