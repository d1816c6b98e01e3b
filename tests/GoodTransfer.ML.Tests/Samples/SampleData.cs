namespace GoodTransfer.ML.Tests.Samples;

/// <summary>Data folders for the samples' tests, cut from the Fashion-MNIST images that ship with the samples.</summary>
public static class SampleData
{
    /// <summary>The ten class folders of the shipped data set, sorted as the samples sort them.</summary>
    public static IReadOnlyList<string> Classes { get; } =
        [.. Directory.GetDirectories(SampleProcess.DefaultData("ImageClassifier")).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    /// <summary>Copies the first <paramref name="perClass"/> images of the first <paramref name="classes"/> classes into <paramref name="folder"/>.</summary>
    public static string Subset(string folder, int classes, int perClass)
    {
        foreach (var name in Classes.Take(classes))
        {
            var target = Directory.CreateDirectory(Path.Combine(folder, name)).FullName;
            var source = Path.Combine(SampleProcess.DefaultData("ImageClassifier"), name);
            foreach (var image in Directory.GetFiles(source, "*.png").Order(StringComparer.Ordinal).Take(perClass))
            {
                File.Copy(image, Path.Combine(target, Path.GetFileName(image)));
            }
        }

        return folder;
    }
}
