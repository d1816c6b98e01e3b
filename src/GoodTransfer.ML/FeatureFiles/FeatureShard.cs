using System.Globalization;

namespace GoodTransfer.ML;

/// <summary>
/// One of <see cref="Count"/> parts of a featurization, for a cluster job that runs one command per shard:
/// the sorted image list is cut into <see cref="Count"/> contiguous parts whose sizes differ by at most one,
/// and part <see cref="Index"/> (counted from 0) is written as <c>part-I-of-N.parquet</c>.
/// </summary>
/// <param name="Index">Which part, from 0 to <see cref="Count"/> - 1.</param>
/// <param name="Count">How many parts, 1 or more.</param>
public readonly record struct FeatureShard(int Index, int Count)
{
    /// <summary>The whole list as one part: <c>part-0-of-1</c>.</summary>
    public static FeatureShard Whole => new(0, 1);

    /// <summary>Parses <c>I/N</c>, e.g. <c>0/3</c>, as the command line gives it.</summary>
    /// <param name="text">The shard, <c>I/N</c> with 0 &lt;= I &lt; N.</param>
    /// <returns>The shard.</returns>
    /// <exception cref="FormatException">The text is not <c>I/N</c> with 0 &lt;= I &lt; N; the message says why.</exception>
    public static FeatureShard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length != 2 ||
            !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            throw new FormatException($"Shard '{text}' is not I/N (e.g. 0/3: the first of three parts).");
        }

        if (count < 1 || index >= count)
        {
            throw new FormatException($"Shard '{text}': I must be from 0 to N - 1 and N at least 1 (parts are counted from 0).");
        }

        return new FeatureShard(index, count);
    }

    /// <summary>This part's file name: <c>part-I-of-N.parquet</c> (or <c>.csv</c>).</summary>
    /// <param name="format">The format of the part.</param>
    /// <returns>The file name.</returns>
    public string FileName(FeatureFileFormat format = FeatureFileFormat.Parquet) =>
        string.Create(CultureInfo.InvariantCulture, $"part-{Index}-of-{Count}{FeatureFile.ExtensionOf(format)}");

    /// <summary>This part of <paramref name="sorted"/>: items <c>[I * n / N, (I + 1) * n / N)</c>, so every item is in exactly one part.</summary>
    /// <typeparam name="T">The items.</typeparam>
    /// <param name="sorted">The whole list, in the order every shard sees it.</param>
    /// <returns>This part's items, in order.</returns>
    public IReadOnlyList<T> Cut<T>(IReadOnlyList<T> sorted)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        Check();
        var start = (int)((long)Index * sorted.Count / Count);
        var end = (int)((long)(Index + 1) * sorted.Count / Count);
        return [.. sorted.Skip(start).Take(end - start)];
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    private void Check()
    {
        if (Count < 1 || Index < 0 || Index >= Count)
        {
            throw new InvalidOperationException($"Shard {Index}/{Count} is not a part: I must be from 0 to N - 1.");
        }
    }
}
