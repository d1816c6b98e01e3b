using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace GoodTransfer.ML.Runtime;

/// <summary>Checks an input column, in ML.NET's words, and says which kind it is.</summary>
internal static class InputColumnCheck
{
    // The parameter of the public methods (GetOutputSchema, Fit, Transform) whose schema is wrong.
    private static readonly string ParameterName = "inputSchema";

    private const string Expected = "Image (from LoadImages), Vector<Byte> of encoded image bytes (from LoadRawImageBytes), or String holding an image path";

    public static ImageInput Check(DataViewSchema inputSchema, string column) =>
        Classify(inputSchema.GetColumnOrNull(column)?.Type, column);

    public static ImageInput Check(SchemaShape inputSchema, string column)
    {
        foreach (var shape in inputSchema)
        {
            if (shape.Name != column)
            {
                continue;
            }

            return shape.Kind switch
            {
                SchemaShape.Column.VectorKind.Scalar when shape.ItemType is ImageDataViewType image => Classify(image, column),
                SchemaShape.Column.VectorKind.Scalar when shape.ItemType is TextDataViewType => ImageInput.Path,
                SchemaShape.Column.VectorKind.VariableVector when shape.ItemType == NumberDataViewType.Byte => ImageInput.Bytes,
                _ => throw Mismatch(column, Describe(shape)),
            };
        }

        throw NotFound(column);
    }

    private static ImageInput Classify(DataViewType? type, string column) => type switch
    {
        null => throw NotFound(column),
        ImageDataViewType { Height: 0, Width: 0 } => ImageInput.Image,
        ImageDataViewType sized => throw new ArgumentOutOfRangeException(
            ParameterName,
            $"Schema mismatch for input column '{column}': expected an unsized Image, got {sized}. GoodTransferFeaturize resizes and crops " +
            "exactly as the backbones were trained (torchvision's Resize(256) and CenterCrop(224)); remove ResizeImages before it."),
        TextDataViewType => ImageInput.Path,
        VectorDataViewType { ItemType: var item, IsKnownSize: false } when item == NumberDataViewType.Byte => ImageInput.Bytes,
        _ => throw Mismatch(column, $"{type}"),
    };

    private static string Describe(SchemaShape.Column shape) => shape.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => $"{shape.ItemType}",
        SchemaShape.Column.VectorKind.Vector => $"Vector<{shape.ItemType}>",
        _ => $"VarVector<{shape.ItemType}>",
    };

    private static ArgumentOutOfRangeException NotFound(string column) =>
        new(ParameterName, $"Could not find input column '{column}'.");

    private static ArgumentOutOfRangeException Mismatch(string column, string actual) =>
        new(ParameterName, $"Schema mismatch for input column '{column}': expected {Expected}, got {actual}.");
}
