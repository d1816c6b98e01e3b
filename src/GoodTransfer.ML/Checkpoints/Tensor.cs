namespace GoodTransfer.ML.Checkpoints;

/// <summary>
/// One weight of a state dict, materialised as a contiguous row-major float32 array
/// (whatever its dtype, strides and storage offset were in the file).
/// </summary>
internal sealed class Tensor
{
    public Tensor(string name, int[] shape, float[] data)
    {
        Name = name;
        Shape = shape;
        Data = data;
    }

    /// <summary>The key in the normalised state dict, e.g. <c>layer1.0.conv1.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The sizes of each dimension; empty for a scalar.</summary>
    public int[] Shape { get; }

    /// <summary>The values, row-major, contiguous. Owned by this tensor; may be rewritten in place (BatchNorm folding).</summary>
    public float[] Data { get; }

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
