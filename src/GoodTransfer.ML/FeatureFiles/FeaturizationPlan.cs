using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML;

/// <summary>
/// Featurizes a list of images into one feature file, or into one part of a sharded run: the list is
/// sorted, cut into its shard (<see cref="FeatureShard"/>), featurized in order, and written atomically as
/// <c>part-I-of-N.parquet</c>. A part already complete is found (<see cref="Existing"/>) and need not run again,
/// so rerunning a job resumes it. What the <c>goodtransfer featurize</c> command runs, one plan per shard.
/// </summary>
/// <example>
/// <code>
/// var plan = FeaturizationPlan.Create(FeaturizationPlan.ListImages("photos/"), "features/", FeatureShard.Parse("2/8"));
/// if (plan.Existing() is null)
/// {
///     using var featurizer = mlContext.Transforms.GoodTransferFeaturize(Backbone.MocoV2ImageNet).Fit(plan.ToDataView(mlContext));
///     plan.Run(mlContext, featurizer);
/// }
/// </code>
/// </example>
public sealed class FeaturizationPlan
{
    /// <summary>What ML.NET's image decoder (SkiaSharp) reads; a folder's other files are not images.</summary>
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];

    private FeaturizationPlan(IReadOnlyList<FeatureInput> images, string outputPath, FeatureShard? shard, FeatureFileFormat format, int total)
    {
        Images = images;
        OutputPath = outputPath;
        Shard = shard;
        Format = format;
        TotalImages = total;
    }

    /// <summary>This plan's images: its shard of the sorted list, in order.</summary>
    public IReadOnlyList<FeatureInput> Images { get; }

    /// <summary>How many images the whole list has, across every shard.</summary>
    public int TotalImages { get; }

    /// <summary>The file this plan writes (full path): the output file, or the part's file in the output folder.</summary>
    public string OutputPath { get; }

    /// <summary>The shard, or <see langword="null"/> when the output is one file.</summary>
    public FeatureShard? Shard { get; }

    /// <summary>The format of <see cref="OutputPath"/>.</summary>
    public FeatureFileFormat Format { get; }

    /// <summary>
    /// The images to featurize from <paramref name="input"/>, sorted by path (ordinal), so every machine sees the
    /// same list: a folder, searched recursively, each image labelled with the name of the class subfolder it
    /// is in (its first level; images directly in the folder have no label); or a text file of image paths, one a
    /// line (empty lines and lines starting with <c>#</c> skipped; relative paths are read from the current folder), without labels.
    /// Paths are kept as given.
    /// </summary>
    /// <param name="input">A folder of images, or a text file listing them.</param>
    /// <returns>The images, sorted.</returns>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="input"/>, or a listed image does not exist (the message names it and its line).</exception>
    /// <exception cref="InvalidDataException">The folder or list holds no image.</exception>
    public static IReadOnlyList<FeatureInput> ListImages(string input)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(input);
        List<FeatureInput> images;
        if (Directory.Exists(input))
        {
            images = [.. Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                .Where(f => ImageExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Select(f => new FeatureInput(f, ClassOf(input, f)))];
            if (images.Count == 0)
            {
                throw new InvalidDataException($"Folder '{Path.GetFullPath(input)}' holds no images ({string.Join(", ", ImageExtensions)}).");
            }
        }
        else if (File.Exists(input))
        {
            images = [];
            var number = 0;
            foreach (var raw in File.ReadLines(input))
            {
                number++;
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                if (!File.Exists(line))
                {
                    throw new FileNotFoundException($"'{input}', line {number}: no image at '{line}' (relative paths are read from {Environment.CurrentDirectory}).", line);
                }

                images.Add(new FeatureInput(line, null));
            }

            if (images.Count == 0)
            {
                throw new InvalidDataException($"'{Path.GetFullPath(input)}' lists no image: give one image path a line.");
            }
        }
        else
        {
            throw new FileNotFoundException($"No folder or list of images at '{Path.GetFullPath(input)}'.", input);
        }

        images.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return images;
    }

    /// <summary>
    /// A plan for <paramref name="images"/> (sorted by path here, whatever their order).
    /// </summary>
    /// <param name="images">The whole list of images, every shard's.</param>
    /// <param name="output">
    /// Without <paramref name="shard"/>: a <c>.parquet</c> or <c>.csv</c> file, or a folder (then written as
    /// <c>part-0-of-1</c>). With it: the folder of parts.
    /// </param>
    /// <param name="shard">Which part to write, or <see langword="null"/>.</param>
    /// <param name="format">The format; the default follows <paramref name="output"/>'s extension (<c>.csv</c> is CSV), else Parquet.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="ArgumentException">The list is empty, or a shard's output names a <c>.parquet</c> or <c>.csv</c> file rather than a folder.</exception>
    public static FeaturizationPlan Create(IReadOnlyList<FeatureInput> images, string output, FeatureShard? shard = null, FeatureFileFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        if (images.Count == 0)
        {
            throw new ArgumentException("There are no images to featurize.", nameof(images));
        }

        var sorted = images.OrderBy(i => i.Path, StringComparer.Ordinal).ToList();
        var fullOutput = Path.GetFullPath(output);
        var namesFile = Path.GetExtension(fullOutput) is ".parquet" or ".csv" && !Directory.Exists(fullOutput);
        if (shard is null && namesFile)
        {
            return new FeaturizationPlan(sorted, fullOutput, null, format ?? FeatureFile.FormatOf(fullOutput), sorted.Count);
        }

        if (namesFile)
        {
            throw new ArgumentException($"With a shard, the output is a folder of parts, not the file '{fullOutput}'.", nameof(output));
        }

        var part = shard ?? FeatureShard.Whole;
        var chosen = format ?? FeatureFileFormat.Parquet;
        return new FeaturizationPlan(part.Cut(sorted), Path.Combine(fullOutput, part.FileName(chosen)), part, chosen, sorted.Count);
    }

    /// <summary>
    /// The metadata of the complete file already at <see cref="OutputPath"/> for exactly these images (a rerun's
    /// finished part), or <see langword="null"/> when there is none. Files are written atomically, so a file there is complete.
    /// </summary>
    /// <returns>The existing file's metadata, or <see langword="null"/>.</returns>
    /// <exception cref="InvalidDataException">A file there is unreadable, or holds other images: the message names it, to be deleted or written elsewhere.</exception>
    public FeatureFileMetadata? Existing()
    {
        if (!File.Exists(OutputPath))
        {
            return null;
        }

        var content = FeatureFile.ReadOne(OutputPath, metadataOnly: false);
        if (!content.Rows.Select(r => r.Path).SequenceEqual(Images.Select(i => i.Path), StringComparer.Ordinal))
        {
            throw new InvalidDataException(
                $"'{OutputPath}' exists but holds other images than this run's {Images.Count} ({content.Rows.Count} rows): delete it, or write to another output.");
        }

        return content.Metadata;
    }

    /// <summary>The plan's images as ML.NET rows: <c>Image</c>, the path (text), which <c>GoodTransferFeaturize</c> reads by default, and <c>Label</c> (empty when unknown).</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="imageColumnName">The name of the path column.</param>
    /// <returns>The rows, to fit the featurizer on.</returns>
    public IDataView ToDataView(MLContext mlContext, string imageColumnName = GoodTransferDefaults.InputColumnName)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrWhiteSpace(imageColumnName);
        var schema = SchemaDefinition.Create(typeof(ImageRow));
        schema[nameof(ImageRow.Image)].ColumnName = imageColumnName;
        return mlContext.Data.LoadFromEnumerable(Images.Select(i => new ImageRow { Image = i.Path, Label = i.Label ?? string.Empty }).ToList(), schema);
    }

    /// <summary>
    /// Featurizes the plan's images in order and writes them to <see cref="OutputPath"/>, atomically: a run that
    /// is killed or fails leaves no file under that name (only a <c>.tmp</c> file beside it, which the next complete run deletes).
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="featurizer">A featurizer fitted on a text column of image paths (for instance on <see cref="ToDataView"/>).</param>
    /// <param name="progress">Told the number of images done, after each one.</param>
    /// <param name="cancellationToken">Stops between images; nothing is written then.</param>
    /// <returns>The metadata written.</returns>
    /// <exception cref="InvalidImageException">An image cannot be decoded; the message names it.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public FeatureFileMetadata Run(MLContext mlContext, GoodTransferTransformer featurizer, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var rows = Featurize(mlContext, featurizer, progress, cancellationToken);
        var metadata = FeatureFileMetadata.For(featurizer);
        FeatureFile.Write(OutputPath, metadata, rows, Format);

        // A run of this plan killed mid-write left its temporary file beside the output: gone once the output is complete.
        FeatureFile.DeleteLeftovers([OutputPath]);
        return metadata;
    }

    /// <summary>Featurizes the plan's images in order, in memory, without writing anything.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="featurizer">A featurizer fitted on a text column of image paths.</param>
    /// <param name="progress">Told the number of images done, after each one.</param>
    /// <param name="cancellationToken">Stops between images.</param>
    /// <returns>One row per image, in <see cref="Images"/>' order.</returns>
    /// <exception cref="InvalidImageException">An image cannot be decoded; the message names it.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public IReadOnlyList<FeatureRow> Featurize(MLContext mlContext, GoodTransferTransformer featurizer, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(featurizer);
        var transformed = featurizer.Transform(ToDataView(mlContext, featurizer.InputColumnName));
        var column = transformed.Schema[featurizer.OutputColumnName];
        var rows = new List<FeatureRow>(Images.Count);
        using var cursor = transformed.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var value = default(VBuffer<float>);
        while (cursor.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            getter(ref value);
            var image = Images[rows.Count];
            rows.Add(new FeatureRow(image.Path, image.Label, value.DenseValues().ToArray()));
            progress?.Report(rows.Count);
        }

        return rows;
    }

    private static string? ClassOf(string root, string file)
    {
        var relative = Path.GetRelativePath(root, file);
        var separator = relative.IndexOfAny([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]);
        return separator < 0 ? null : relative[..separator];
    }

    private sealed class ImageRow
    {
        public string Image { get; set; } = string.Empty;

        public string Label { get; set; } = string.Empty;
    }
}
