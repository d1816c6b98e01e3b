namespace GoodTransfer.ML.Tests.Support;

/// <summary>The parity measures: cosine similarity per row and the largest absolute error relative to the largest reference value.</summary>
public static class Similarity
{
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return na == 0 && nb == 0 ? 1 : dot / Math.Sqrt(na * nb);
    }

    /// <summary>Asserts cosine ≥ <paramref name="minCosine"/> for each row and max |a-b| ≤ <paramref name="relativeTolerance"/> × max |reference|.</summary>
    public static void AssertClose(float[] actual, float[] reference, int rows, double minCosine, double relativeTolerance, string what)
    {
        Assert.Equal(reference.Length, actual.Length);
        var columns = reference.Length / rows;
        var largest = reference.Max(Math.Abs);
        var worst = 0.0;
        for (var i = 0; i < reference.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(actual[i] - reference[i]));
        }

        for (var r = 0; r < rows; r++)
        {
            var cosine = Cosine(actual.AsSpan(r * columns, columns), reference.AsSpan(r * columns, columns));
            Assert.True(cosine >= minCosine, $"{what}: row {r} cosine {cosine:F8} < {minCosine}");
        }

        Assert.True(worst <= relativeTolerance * largest, $"{what}: max abs error {worst:E3} > {relativeTolerance} x largest reference value {largest:E3}");
    }
}
