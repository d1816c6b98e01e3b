namespace GoodTransfer.ML.Samples;

/// <summary>One image of a data set: its full path and its class (the name of the folder it is in).</summary>
internal sealed record LabelledImage(string Path, string Label);

/// <summary>
/// A labelled image set on disk: one subfolder per class, named after the class, holding that class's images
/// (in it or in folders below it). Classes and files are sorted by name, so every run sees the same order.
/// </summary>
internal sealed class ImageFolder
{
    /// <summary>What ML.NET's image loader (SkiaSharp) decodes; other files are ignored.</summary>
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];

    private ImageFolder(string root, IReadOnlyList<string> classes, IReadOnlyList<LabelledImage> images, IReadOnlyList<string> skipped)
    {
        Root = root;
        Classes = classes;
        Images = images;
        SkippedFolders = skipped;
    }

    /// <summary>The data set that ships with the samples: 300 Fashion-MNIST test images, 30 of each of its 10 classes, copied beside the program.</summary>
    public static string DefaultRoot => Path.Combine(AppContext.BaseDirectory, "data", "fashion-mnist");

    public string Root { get; }

    public IReadOnlyList<string> Classes { get; }

    public IReadOnlyList<LabelledImage> Images { get; }

    /// <summary>Subfolders with no image in them, which are not classes.</summary>
    public IReadOnlyList<string> SkippedFolders { get; }

    /// <summary>What the samples print about the data: where it is, its size, and the subfolders that are not classes.</summary>
    public IEnumerable<string> Summary()
    {
        var sizes = Images.GroupBy(i => i.Label).Select(g => g.Count()).ToList();
        var perClass = sizes.Min() == sizes.Max() ? $"{sizes.Min()}" : $"{sizes.Min()} to {sizes.Max()}";
        var shipped = Root == Path.GetFullPath(DefaultRoot) ? " (Fashion-MNIST test images, shipped with the samples)" : string.Empty;
        yield return $"Data:      {Root}{shipped}: {Images.Count} images in {Classes.Count} classes, {perClass} per class";
        if (SkippedFolders.Count > 0)
        {
            yield return $"Note:      subfolders without images are not classes: {string.Join(", ", SkippedFolders)}";
        }
    }

    /// <summary>The number of images of the smallest class.</summary>
    public int SmallestClass => Images.GroupBy(i => i.Label).Min(g => g.Count());

    /// <summary>Reads the folder's class subfolders; refuses, naming the folder, one that is missing, empty, or has fewer than two classes with images.</summary>
    public static ImageFolder Load(string? folder)
    {
        var root = Path.GetFullPath(folder ?? DefaultRoot);
        if (!Directory.Exists(root))
        {
            throw SampleFailure.BadInput(File.Exists(root)
                ? $"data folder '{root}' is a file; give a folder with one subfolder of images per class"
                : $"data folder '{root}' does not exist");
        }

        var classes = new List<string>();
        var images = new List<LabelledImage>();
        var skipped = new List<string>();
        foreach (var subfolder in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var files = Directory.EnumerateFiles(subfolder, "*", SearchOption.AllDirectories)
                .Where(IsImage)
                .Order(StringComparer.Ordinal)
                .ToList();
            var label = Path.GetFileName(subfolder);
            if (files.Count == 0)
            {
                skipped.Add(label);
                continue;
            }

            classes.Add(label);
            images.AddRange(files.Select(f => new LabelledImage(f, label)));
        }

        var extensions = string.Join(", ", ImageExtensions);
        if (images.Count == 0)
        {
            var loose = Directory.EnumerateFiles(root).Any(IsImage) ? " (its images must be in one subfolder per class, not in the folder itself)" : string.Empty;
            throw SampleFailure.BadInput($"data folder '{root}' contains no images ({extensions}) in class subfolders{loose}");
        }

        if (classes.Count < 2)
        {
            throw SampleFailure.BadInput($"data folder '{root}' has images of only one class ('{classes[0]}'); a classifier needs at least two class subfolders");
        }

        return new ImageFolder(root, classes, images, skipped);
    }

    /// <summary>
    /// A stratified split: from each class, <paramref name="testFraction"/> of its images (rounded, at least one,
    /// never all) are held out for testing, chosen at random with a fixed seed.
    /// </summary>
    public (IReadOnlyList<LabelledImage> Train, IReadOnlyList<LabelledImage> Test) Split(double testFraction, int seed)
    {
        var random = new Random(seed);
        var train = new List<LabelledImage>();
        var test = new List<LabelledImage>();
        foreach (var group in Images.GroupBy(i => i.Label))
        {
            var members = group.ToArray();
            if (members.Length < 2)
            {
                throw SampleFailure.BadInput($"class '{group.Key}' in '{Root}' has one image; each class needs at least two, one to train on and one to test");
            }

            random.Shuffle(members);
            var held = Math.Clamp((int)Math.Round(members.Length * testFraction), 1, members.Length - 1);
            test.AddRange(members[..held]);
            train.AddRange(members[held..]);
        }

        return (train, test);
    }

    /// <summary>
    /// Stratified folds for k-fold cross-validation: each image's fold (0 to <paramref name="folds"/> - 1), dealt
    /// out class by class after a shuffle with a fixed seed, so each fold holds nearly the same share of every
    /// class and the folds differ in size by at most one image.
    /// </summary>
    public int[] StratifiedFolds(int folds, int seed)
    {
        var random = new Random(seed);
        var fold = new int[Images.Count];
        var dealt = 0;
        foreach (var group in Enumerable.Range(0, Images.Count).GroupBy(i => Images[i].Label))
        {
            var members = group.ToArray();
            random.Shuffle(members);
            foreach (var index in members)
            {
                fold[index] = dealt++ % folds;
            }
        }

        return fold;
    }

    private static bool IsImage(string path) =>
        ImageExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);
}
