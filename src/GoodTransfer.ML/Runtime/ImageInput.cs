using System.Globalization;
using GoodTransfer.ML.Imaging;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// One kind of input column the featurizer reads, with everything that differs between the kinds: how a
/// row's value is read and copied off the cursor, how it is decoded, the preprocessing steps a saved model
/// holds (their contract names are in <see cref="PreprocessingMappings"/>), and how the kind is described in errors.
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

    /// <summary>
    /// A reader of the cursor's current row: each call copies what the cursor would reuse and returns the
    /// decoding and preprocessing still to do, which may run later and on another thread (it throws what
    /// decoding throws). A row that cannot be read fails alone: its error is thrown by what it returns.
    /// Paths and bytes are decoded only where the resize reads (<see cref="TorchvisionTransform.FileToTensor"/>).
    /// </summary>
    /// <param name="row">The cursor.</param>
    /// <param name="column">The image column.</param>
    /// <param name="source">
    /// For an image column that <c>LoadImages</c> made, its path column (active on <paramref name="row"/>): the files
    /// are then read and decoded as <c>LoadImages</c> decodes them, but in parallel, and a file that fails is named.
    /// </param>
    public abstract Func<TensorWriter> CreateReader(DataViewRow row, DataViewSchema.Column column, LoadedImageSource? source);

    /// <summary>Where this kind's images come from in <paramref name="data"/>, when that is known: for an image column that <c>LoadImages</c> made, the path column behind it.</summary>
    public virtual LoadedImageSource? SourceOf(IDataView data, string column) => null;

    /// <summary>The column a reader needs from its cursor: the image column, or for an image column that <c>LoadImages</c> made, the path column behind it.</summary>
    public static IEnumerable<DataViewSchema.Column> ColumnsToRead(DataViewSchema schema, DataViewSchema.Column column, LoadedImageSource? source) =>
        source is null ? [column] : [schema[source.PathColumn]];

    /// <summary>
    /// The preprocessing steps of the equivalent chain that a saved model holds, from the input column copied to
    /// <see cref="PreprocessingColumns.Input"/> to the network's input: ImageNet's preprocessing is one custom
    /// mapping; any other is computed from two constant columns that carry its sizes (see <see cref="PreprocessingMappings"/>).
    /// </summary>
    public IEnumerable<IEstimator<ITransformer>> Preprocessing(TransformsCatalog catalog, ImagePreprocessing preprocessing)
    {
        if (preprocessing == ImagePreprocessing.ImageNet)
        {
            yield return ImageNetStep(catalog);
            yield break;
        }

        yield return catalog.CustomMapping(new TickFactory().GetMapping(), PreprocessingMappings.TickContract);
        yield return catalog.Expression(PreprocessingColumns.ResizeSize, Constant(preprocessing.ResizeSize), PreprocessingColumns.Tick);
        yield return catalog.Expression(PreprocessingColumns.CropSize, Constant(preprocessing.CropSize), PreprocessingColumns.Tick);
        yield return SizedStep(catalog);
    }

    /// <summary>The internal columns the preprocessing steps add besides the network's input; the chain drops them.</summary>
    public static IReadOnlyList<string> PreprocessingColumnsOf(ImagePreprocessing preprocessing) =>
        preprocessing == ImagePreprocessing.ImageNet
            ? [PreprocessingColumns.Input]
            : [PreprocessingColumns.Input, PreprocessingColumns.Tick, PreprocessingColumns.ResizeSize, PreprocessingColumns.CropSize];

    public override string ToString() => Description;

    /// <summary>The custom mapping of ImageNet's preprocessing for this kind.</summary>
    protected abstract IEstimator<ITransformer> ImageNetStep(TransformsCatalog catalog);

    /// <summary>The custom mapping for this kind that reads the preprocessing's sizes from their columns.</summary>
    protected abstract IEstimator<ITransformer> SizedStep(TransformsCatalog catalog);

    private static string Constant(int value) => string.Create(CultureInfo.InvariantCulture, $"tick => {value}");

    private sealed class ImageColumn : ImageInput
    {
        public override string Description => "images";

        public override LoadedImageSource? SourceOf(IDataView data, string column) => LoadedImageSource.Find(data, column);

        public override Func<TensorWriter> CreateReader(DataViewRow row, DataViewSchema.Column column, LoadedImageSource? source) =>
            source is null ? ReadImages(row, column) : ReadFiles(row, source);

        /// <summary>
        /// Reads the paths behind <c>LoadImages</c> and decodes each file as it does (the file's stream into
        /// <see cref="MLImage.CreateFromStream"/>: the same pixels, and the same errors, which name what is wrong
        /// where <see cref="MLImage.CreateFromFile"/> says only "Invalid path"), on the producer's workers instead
        /// of on the thread that pulls the rows.
        /// </summary>
        private static Func<TensorWriter> ReadFiles(DataViewRow row, LoadedImageSource source)
        {
            var pathGetter = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[source.PathColumn]);
            var path = default(ReadOnlyMemory<char>);
            return () =>
            {
                pathGetter(ref path);
                if (path.Length == 0)
                {
                    // LoadImages gives no image for an empty path.
                    return static (transform, destination) => transform.ToTensor(PreprocessingMappings.Decode((MLImage?)null), destination);
                }

                var file = source.FileOf(path.ToString());
                return (transform, destination) =>
                {
                    if (TryJpegToTensor(transform, file, destination))
                    {
                        return;
                    }

                    MLImage image;
                    try
                    {
                        using var stream = File.OpenRead(file);
                        image = MLImage.CreateFromStream(stream);
                    }
                    catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
                    {
                        throw LoadFailure(file, e);
                    }

                    using (image)
                    {
                        transform.ToTensor(PreprocessingMappings.Decode(image), destination);
                    }
                };
            };
        }

        /// <summary>
        /// A JPEG's tensor with the cheaper decode of a path column (only where the resize reads, no <see cref="MLImage"/>):
        /// a JPEG is opaque, so <c>LoadImages</c>' image holds exactly its pixels and the tensor is the same, float for float.
        /// False, with nothing decided, for any other file, or where the file cannot be opened or decoded that way: the caller
        /// then loads it as <c>LoadImages</c> does, which gives today's pixels and today's errors (it may accept what this refuses).
        /// </summary>
        private static bool TryJpegToTensor(TorchvisionTransform transform, string file, Span<float> destination)
        {
            try
            {
                using var image = EncodedImage.OpenFile(file);
                if (!image.IsJpeg)
                {
                    return false;
                }

                transform.ToTensor(image, destination);
                return true;
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
            {
                return false;
            }
        }

        private static Func<TensorWriter> ReadImages(DataViewRow row, DataViewSchema.Column column)
        {
            // Converted at once: ML.NET's image loader disposes the image it handed out when it is asked
            // for the next one, so it must not be kept for later.
            var getter = row.GetGetter<MLImage>(column);
            MLImage image = null!;
            return () =>
            {
                try
                {
                    getter(ref image);
                }
                catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
                {
                    // An image loader decodes in the getter and throws what the file, Skia or the file system throw
                    // (ArgumentException, UnauthorizedAccessException, FileNotFoundException, a bare Exception).
                    var failed = LoadFailure($"the image in column '{column.Name}'", e);
                    return (_, _) => throw failed;
                }

                try
                {
                    var converted = PreprocessingMappings.Decode(image);
                    return (transform, destination) => transform.ToTensor(converted, destination);
                }
                catch (InvalidImageException e)
                {
                    return (_, _) => throw e;
                }
            };
        }

        private static InvalidImageException LoadFailure(string source, Exception e) =>
            new(source, $"ML.NET's LoadImages cannot load it: {e.Message}", e);

        protected override IEstimator<ITransformer> ImageNetStep(TransformsCatalog catalog) =>
            catalog.CustomMapping(new ImagePreprocessingFactory().GetMapping(), PreprocessingMappings.ImageContract);

        protected override IEstimator<ITransformer> SizedStep(TransformsCatalog catalog) =>
            catalog.CustomMapping(new SizedImagePreprocessingFactory().GetMapping(), PreprocessingMappings.SizedImageContract);
    }

    private sealed class BytesColumn : ImageInput
    {
        public override string Description => "encoded image bytes";

        public override Func<TensorWriter> CreateReader(DataViewRow row, DataViewSchema.Column column, LoadedImageSource? source)
        {
            var getter = row.GetGetter<VBuffer<byte>>(column);
            var buffer = default(VBuffer<byte>);
            return () =>
            {
                getter(ref buffer);
                var bytes = buffer.DenseValues().ToArray();
                return (transform, destination) => PreprocessingMappings.BytesToTensor(transform, bytes, destination);
            };
        }

        protected override IEstimator<ITransformer> ImageNetStep(TransformsCatalog catalog) =>
            catalog.CustomMapping(new BytesPreprocessingFactory().GetMapping(), PreprocessingMappings.BytesContract);

        protected override IEstimator<ITransformer> SizedStep(TransformsCatalog catalog) =>
            catalog.CustomMapping(new SizedBytesPreprocessingFactory().GetMapping(), PreprocessingMappings.SizedBytesContract);
    }

    private sealed class PathColumn : ImageInput
    {
        public override string Description => "image paths";

        public override Func<TensorWriter> CreateReader(DataViewRow row, DataViewSchema.Column column, LoadedImageSource? source)
        {
            var getter = row.GetGetter<ReadOnlyMemory<char>>(column);
            var text = default(ReadOnlyMemory<char>);
            return () =>
            {
                getter(ref text);
                var path = text.ToString();
                return (transform, destination) => PreprocessingMappings.FileToTensor(transform, path, destination);
            };
        }

        protected override IEstimator<ITransformer> ImageNetStep(TransformsCatalog catalog) =>
            catalog.CustomMapping(new PathPreprocessingFactory().GetMapping(), PreprocessingMappings.PathContract);

        protected override IEstimator<ITransformer> SizedStep(TransformsCatalog catalog) =>
            catalog.CustomMapping(new SizedPathPreprocessingFactory().GetMapping(), PreprocessingMappings.SizedPathContract);
    }
}
