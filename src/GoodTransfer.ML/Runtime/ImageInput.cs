using GoodTransfer.ML.Imaging;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// One kind of input column the featurizer reads, with everything that differs between the kinds: how a
/// row's value is read and copied off the cursor, how it is decoded, the preprocessing step a saved model
/// holds (and its contract name), and how the kind is described in errors.
/// </summary>
internal abstract class ImageInput
{
    /// <summary>Decoded images, as <c>LoadImages</c> gives them.</summary>
    public static ImageInput Image { get; } = new ImageColumn();

    /// <summary>Encoded image bytes, as <c>LoadRawImageBytes</c> gives them.</summary>
    public static ImageInput Bytes { get; } = new BytesColumn();

    /// <summary>Paths of image files.</summary>
    public static ImageInput Path { get; } = new PathColumn();

    /// <summary>The kind in words, for schema errors: "images", "encoded image bytes", "image paths".</summary>
    public abstract string Description { get; }

    /// <summary>The contract name of the preprocessing step in a saved model; never changes once published.</summary>
    public abstract string ContractName { get; }

    /// <summary>
    /// A reader of the cursor's current row: each call copies what the cursor would reuse and returns the
    /// decoding still to do, which may run later and on another thread (it throws what decoding throws).
    /// </summary>
    public abstract Func<Func<RgbImage>> CreateReader(DataViewRow row, DataViewSchema.Column column);

    /// <summary>The preprocessing step of the equivalent chain that a saved model holds.</summary>
    public abstract IEstimator<ITransformer> Preprocessing(TransformsCatalog catalog);

    public override string ToString() => Description;

    private sealed class ImageColumn : ImageInput
    {
        public override string Description => "images";

        public override string ContractName => PreprocessingMappings.ImageContract;

        public override Func<Func<RgbImage>> CreateReader(DataViewRow row, DataViewSchema.Column column)
        {
            // Converted at once: ML.NET's image loader disposes the image it handed out when it is asked
            // for the next one, so it must not be kept for later.
            var getter = row.GetGetter<MLImage>(column);
            MLImage image = null!;
            return () =>
            {
                getter(ref image);
                try
                {
                    var converted = PreprocessingMappings.Decode(image);
                    return () => converted;
                }
                catch (InvalidImageException e)
                {
                    return () => throw e;
                }
            };
        }

        public override IEstimator<ITransformer> Preprocessing(TransformsCatalog catalog) =>
            catalog.CustomMapping(new ImagePreprocessingFactory().GetMapping(), ContractName);
    }

    private sealed class BytesColumn : ImageInput
    {
        public override string Description => "encoded image bytes";

        public override string ContractName => PreprocessingMappings.BytesContract;

        public override Func<Func<RgbImage>> CreateReader(DataViewRow row, DataViewSchema.Column column)
        {
            var getter = row.GetGetter<VBuffer<byte>>(column);
            var buffer = default(VBuffer<byte>);
            return () =>
            {
                getter(ref buffer);
                var bytes = buffer.DenseValues().ToArray();
                return () => PreprocessingMappings.Decode(bytes);
            };
        }

        public override IEstimator<ITransformer> Preprocessing(TransformsCatalog catalog) =>
            catalog.CustomMapping(new BytesPreprocessingFactory().GetMapping(), ContractName);
    }

    private sealed class PathColumn : ImageInput
    {
        public override string Description => "image paths";

        public override string ContractName => PreprocessingMappings.PathContract;

        public override Func<Func<RgbImage>> CreateReader(DataViewRow row, DataViewSchema.Column column)
        {
            var getter = row.GetGetter<ReadOnlyMemory<char>>(column);
            var text = default(ReadOnlyMemory<char>);
            return () =>
            {
                getter(ref text);
                var path = text.ToString();
                return () => PreprocessingMappings.DecodeFile(path);
            };
        }

        public override IEstimator<ITransformer> Preprocessing(TransformsCatalog catalog) =>
            catalog.CustomMapping(new PathPreprocessingFactory().GetMapping(), ContractName);
    }
}
