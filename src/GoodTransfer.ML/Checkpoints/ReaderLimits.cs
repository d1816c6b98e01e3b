namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// Bounds the checkpoint reader checks before it allocates or recurses. A real ResNet checkpoint
/// (state dict, optimizer state, MoCo's queue) is far inside every one of them; a file that
/// exceeds one is refused rather than trusted.
/// </summary>
internal static class ReaderLimits
{
    /// <summary>Largest pickle read into memory, and largest bytes or string value in any pickle. ResNet-50's is about 30 KB; optimizer state adds little.</summary>
    public const int MaxPickleBytes = 64 * 1024 * 1024;

    /// <summary>Most values on the unpickler's stack at once.</summary>
    public const int MaxStackDepth = 1_000_000;

    /// <summary>Most open MARKs at once.</summary>
    public const int MaxMarkDepth = 10_000;

    /// <summary>Most memo entries.</summary>
    public const int MaxMemoEntries = 1_000_000;

    /// <summary>Deepest nesting of containers (a dict in a list in a tuple ...).</summary>
    public const int MaxNesting = 100;

    /// <summary>Most elements in one container.</summary>
    public const int MaxContainerItems = 10_000_000;

    /// <summary>Highest tensor rank.</summary>
    public const int MaxTensorRank = 8;

    /// <summary>Most elements in one kept tensor (a float32 array must fit in .NET's array limits).</summary>
    public const long MaxTensorElements = 1L << 30;

    /// <summary>Most zip entries.</summary>
    public const int MaxZipEntries = 1_000_000;

    /// <summary>Most bytes in a Python integer (LONG1/LONG4).</summary>
    public const int MaxLongBytes = 64;
}
