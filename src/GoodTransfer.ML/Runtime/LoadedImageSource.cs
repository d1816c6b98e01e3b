using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// Where the images of an image column come from when ML.NET's <c>LoadImages</c> made the column from a
/// column of paths: that column and the image folder, so that an image ML.NET cannot load is reported
/// with its file.
/// </summary>
/// <remarks>
/// ML.NET does not say publicly which transformer made a data view. The view that <c>LoadImages</c> returns
/// is its internal <c>RowToRowMapperTransform</c>, whose private <c>_mapper</c> holds the public
/// <see cref="ImageLoadingTransformer"/> in its private <c>_parent</c>, whose column pairs are in the
/// internal <c>ColumnPairs</c> of its base class; those three fields are read by reflection. If a later ML.NET renames them, or another transformer stands between <c>LoadImages</c> and
/// the featurizer, no source is found and errors name the row and the column only (a test pins the route).
/// </remarks>
/// <param name="PathColumn">The column of paths <c>LoadImages</c> read.</param>
/// <param name="ImageFolder">The folder the paths are relative to, or <see langword="null"/>.</param>
internal sealed record LoadedImageSource(string PathColumn, string? ImageFolder)
{
    private const BindingFlags Private = BindingFlags.Instance | BindingFlags.NonPublic;

    /// <summary>The source of <paramref name="imageColumn"/> in <paramref name="data"/>, or null when it is not known.</summary>
    public static LoadedImageSource? Find(IDataView data, string imageColumn)
    {
        try
        {
            var mapper = data.GetType().GetField("_mapper", Private)?.GetValue(data);
            if (mapper?.GetType().GetField("_parent", Private | BindingFlags.DeclaredOnly)?.GetValue(mapper) is not ImageLoadingTransformer loader
                || loader.GetType().BaseType?.GetField("ColumnPairs", Private)?.GetValue(loader) is not (string Output, string Input)[] pairs)
            {
                return null;
            }

            var paths = pairs.FirstOrDefault(pair => pair.Output == imageColumn).Input;
            return paths is not null && data.Schema.GetColumnOrNull(paths) is { Type: TextDataViewType }
                ? new LoadedImageSource(paths, loader.ImageFolder)
                : null;
        }
        catch (Exception e) when (e is FieldAccessException or TargetException or MemberAccessException)
        {
            return null;
        }
    }

    /// <summary>The file <c>LoadImages</c> opens for <paramref name="path"/>.</summary>
    public string FileOf(string path) => string.IsNullOrEmpty(ImageFolder) ? path : System.IO.Path.Combine(ImageFolder, path);
}
