namespace GoodTransfer.ML.Runtime;

/// <summary>Featurized batches of a data view's rows, in the order of the rows; owns what makes them.</summary>
internal interface IBatchSource : IDisposable
{
    /// <summary>The next batch, featurized, or null at the end of the rows. The caller owns it.</summary>
    ImageBatch? Next();
}
