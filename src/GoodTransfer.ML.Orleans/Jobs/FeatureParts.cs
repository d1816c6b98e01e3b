namespace GoodTransfer.ML.Orleans;

/// <summary>The names of a job's parts, as the feature-file contract has them.</summary>
internal static class FeatureParts
{
    public static string FileName(int index, int count) => $"part-{index}-of-{count}.parquet";
}
