using System.Reflection;
using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Onnx.Proto;
using GoodTransfer.ML.Runtime;
using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;

namespace GoodTransfer.ML.Serving;

/// <summary>
/// A model zip that holds a featurizer, as <c>mlContext.Model.Save</c> writes it (the featurizer's equivalent
/// chain: a column copy, the preprocessing's custom mapping, the one-image ONNX model, a column copy, a
/// column drop), taken apart for the service: the batched graph recovered from the one-image model's bytes,
/// the preprocessing, and the steps after the featurizer (a classifier), with the schema they read.
/// Steps before it (<c>LoadImages</c>) are not needed: a request is the image itself.
/// </summary>
/// <remarks>
/// ML.NET does not say publicly where a loaded <see cref="OnnxTransformer"/> keeps its model: its internal
/// field <c>Model</c> holds an <c>OnnxModel</c> whose <c>ModelStream</c> is the file it loaded (the copy that
/// <c>Model.Load</c> writes under <c>MLContext.TempFilePath</c>); both are read by reflection, and a test pins
/// the route. Owns the loaded model: dispose it.
/// </remarks>
internal sealed class SavedFeaturizerModel : IDisposable
{
    private static readonly Dictionary<Type, ImageInput> InputKinds = new()
    {
        [typeof(ImageRow)] = ImageInput.Image,
        [typeof(ImageBytesRow)] = ImageInput.Bytes,
        [typeof(ImagePathRow)] = ImageInput.Path,
    };

    private readonly ITransformer loaded;

    private SavedFeaturizerModel(ITransformer loaded, byte[] batchedModel, ImageInput input, string featuresColumn, int featureSize, DownstreamModel? downstream, string? whyNoPrediction)
    {
        this.loaded = loaded;
        BatchedModel = batchedModel;
        Input = input;
        FeaturesColumn = featuresColumn;
        FeatureSize = featureSize;
        Downstream = downstream;
        WhyNoPrediction = whyNoPrediction;
    }

    /// <summary>The featurizer's batched ONNX graph, serialized.</summary>
    public byte[] BatchedModel { get; }

    /// <summary>The kind of column the featurizer was fitted on.</summary>
    public ImageInput Input { get; }

    /// <summary>The featurizer's output column.</summary>
    public string FeaturesColumn { get; }

    /// <summary>C, the length of the features.</summary>
    public int FeatureSize { get; }

    /// <summary>The classifier after the featurizer, or null (see <see cref="WhyNoPrediction"/>).</summary>
    public DownstreamModel? Downstream { get; }

    /// <summary>Why the model cannot predict, when it cannot.</summary>
    public string? WhyNoPrediction { get; }

    /// <summary>The preprocessing of the saved featurizer.</summary>
    public static TorchvisionTransform Transform => TorchvisionTransform.ImageNet;

    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The zip holds no featurizer of GoodTransfer.ML; the message says why.</exception>
    /// <exception cref="NotSupportedException">The featurizer's preprocessing is not ImageNet's.</exception>
    public static SavedFeaturizerModel Load(MLContext mlContext, string path, string labelColumn, string scoreColumn)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The model file '{path}' does not exist.", path);
        }

        var loaded = mlContext.Model.Load(path, out var inputSchema);
        try
        {
            return TakeApart(loaded, inputSchema, path, labelColumn, scoreColumn);
        }
        catch
        {
            (loaded as IDisposable)?.Dispose();
            throw;
        }
    }

    public void Dispose() => (loaded as IDisposable)?.Dispose();

    private static SavedFeaturizerModel TakeApart(ITransformer loaded, DataViewSchema inputSchema, string path, string labelColumn, string scoreColumn)
    {
        var steps = Flatten(loaded).ToList();
        var schemas = new List<DataViewSchema>(steps.Count + 1) { inputSchema };
        foreach (var step in steps)
        {
            schemas.Add(step.GetOutputSchema(schemas[^1]));
        }

        bool Has(int schema, string column) => schemas[schema].GetColumnOrNull(column) is not null;

        // The featurizer's chain starts with the copy to its internal input column, and ends with the drop of its internal columns.
        var start = Enumerable.Range(0, steps.Count).FirstOrDefault(i => !Has(i, PreprocessingColumns.Input) && Has(i + 1, PreprocessingColumns.Input), -1);
        if (start < 0)
        {
            throw NoFeaturizer(path, "it holds no GoodTransferFeaturize step (mlContext.Transforms.GoodTransferFeaturize, saved with Model.Save)");
        }

        var onnx = Enumerable.Range(start, steps.Count - start).FirstOrDefault(i => steps[i] is OnnxTransformer && Has(i + 1, SingleImageGraph.OutputName), -1);
        var end = onnx < 0 ? -1 : Enumerable.Range(onnx + 1, steps.Count - onnx - 1).FirstOrDefault(i => !Has(i + 1, SingleImageGraph.OutputName), -1);
        if (onnx < 0 || end < 0)
        {
            throw NoFeaturizer(path, "its GoodTransferFeaturize step is incomplete (no one-image ONNX model, or its columns are not dropped)");
        }

        var preprocessing = steps.Skip(start + 1).Take(onnx - start - 1)
            .Select(step => step.GetType())
            .FirstOrDefault(type => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(CustomMappingTransformer<,>));
        var row = preprocessing?.GetGenericArguments()[0];
        if (row is null || !InputKinds.TryGetValue(row, out var input))
        {
            throw new NotSupportedException(
                $"The featurizer in '{path}' uses a preprocessing other than ImageNet's Resize(256), CenterCrop(224) (a backbone from Backbone.FromFile with its own sizes); the featurizer service supports ImageNet's only. Serve it with FeaturizerService.Create over the fitted featurizer.");
        }

        var single = ModelProto.Parser.ParseFrom(OnnxBytes((OnnxTransformer)steps[onnx], path));

        // The service runs the batched graph only: the one-image session's weights and buffers go now (disposing
        // the loaded model later disposes it again, which OnnxTransformer allows).
        ((IDisposable)steps[onnx]).Dispose();
        var featureSize = checked((int)single.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimValue);
        SingleImageGraph.Revert(single);

        // The copy to the featurizer's output column is the step before the drop: its new column is last.
        var featuresColumn = schemas[end][schemas[end].Count - 1].Name;
        var (downstream, whyNot) = DownstreamModel.From(steps[(end + 1)..], schemas[end + 1], featuresColumn, featureSize, labelColumn, scoreColumn);
        return new SavedFeaturizerModel(loaded, single.ToByteArray(), input, featuresColumn, featureSize, downstream, whyNot);
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer)
    {
        if (transformer is IEnumerable<ITransformer> chain)
        {
            foreach (var step in chain.SelectMany(Flatten))
            {
                yield return step;
            }
        }
        else
        {
            yield return transformer;
        }
    }

    private static byte[] OnnxBytes(OnnxTransformer scorer, string path)
    {
        const BindingFlags Members = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
        object? model = null;
        FileStream? stream = null;
        try
        {
            model = typeof(OnnxTransformer).GetField("Model", Members)?.GetValue(scorer);
            stream = model?.GetType().GetProperty("ModelStream", Members)?.GetValue(model) as FileStream;
        }
        catch (Exception e) when (e is FieldAccessException or TargetException or MemberAccessException or TargetInvocationException)
        {
            stream = null;
        }

        if (stream is null)
        {
            throw NoFeaturizer(path, "this version of ML.NET keeps a loaded ONNX model where GoodTransfer.ML does not look for it (OnnxTransformer.Model.ModelStream)");
        }

        using var copy = new FileStream(stream.Name, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var bytes = new MemoryStream();
        copy.CopyTo(bytes);
        return bytes.ToArray();
    }

    private static InvalidDataException NoFeaturizer(string path, string why) =>
        new($"The model '{path}' cannot be served by the featurizer service: {why}.");
}
