using System.Reflection;
using Microsoft.ML;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// The SchemaShape of a data view, as ML.NET's pipelines compute it before fitting. ML.NET keeps
/// <c>SchemaShape.Create</c> internal, so tests reach it by reflection (tests only; the library never does).
/// </summary>
public static class SchemaShapes
{
    private static readonly MethodInfo Create = typeof(SchemaShape).GetMethod("Create", BindingFlags.NonPublic | BindingFlags.Static, [typeof(DataViewSchema)])
        ?? throw new InvalidOperationException("ML.NET no longer has SchemaShape.Create(DataViewSchema).");

    public static SchemaShape Of(DataViewSchema schema) => (SchemaShape)Create.Invoke(null, [schema])!;
}
