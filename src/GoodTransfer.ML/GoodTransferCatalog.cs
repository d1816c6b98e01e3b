using Microsoft.ML;

namespace GoodTransfer.ML;

/// <summary>GoodTransfer.ML's entry point in ML.NET's catalog: <c>mlContext.Transforms.GoodTransferFeaturize(...)</c>.</summary>
public static class GoodTransferCatalog
{
    /// <summary>
    /// Turns images into the features of a pretrained backbone from the paper, for any ML.NET trainer downstream:
    /// <c>mlContext.Transforms.LoadImages("Image", folder, "Path").Append(mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet))</c>.
    /// </summary>
    /// <remarks>
    /// The images are preprocessed exactly as the backbones were trained and evaluated (torchvision's
    /// <c>Resize(256)</c>, <c>CenterCrop(224)</c>, <c>ToTensor</c>, <c>Normalize</c>), so features equal
    /// PyTorch's for the same checkpoint. Fitting fetches the checkpoint once into the cache and converts it
    /// to ONNX once; later fits reuse both.
    /// </remarks>
    /// <param name="catalog">The transforms catalog, <c>mlContext.Transforms</c>.</param>
    /// <param name="backbone">The backbone: one of <see cref="Backbone.All"/>, or <see cref="Backbone.FromFile"/>.</param>
    /// <param name="outputColumnName">The features column, a <c>Vector&lt;Single, C&gt;</c> (C = 2048 for the last stage of ResNet-50).</param>
    /// <param name="inputColumnName">The image column: <c>Image</c> (from <c>LoadImages</c>), <c>Vector&lt;Byte&gt;</c> of encoded bytes (from <c>LoadRawImageBytes</c>), or <c>String</c> paths.</param>
    /// <param name="options">The feature layer, threads, GPU, cache, mirror and offline settings; see <see cref="GoodTransferOptions"/>.</param>
    /// <returns>The estimator. It keeps a checked copy of <paramref name="options"/>: changing them later changes nothing.</returns>
    /// <exception cref="ArgumentException">An option is out of range; <see cref="ArgumentException.ParamName"/> is the option's name (<c>BatchSize</c>, <c>MirrorUrl</c>, ...).</exception>
    public static GoodTransferEstimator GoodTransferFeaturize(
        this TransformsCatalog catalog,
        Backbone backbone,
        string outputColumnName = GoodTransferDefaults.OutputColumnName,
        string inputColumnName = GoodTransferDefaults.InputColumnName,
        GoodTransferOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        return new GoodTransferEstimator(catalog, backbone, outputColumnName, inputColumnName, FeaturizerSettings.From(options ?? new GoodTransferOptions()));
    }
}
