namespace GoodTransfer.ML.Samples.ImageService;

/// <summary>The page at GET /, index.html, embedded in the assembly so that the service needs no content folder.</summary>
internal static class Page
{
    public static string Html { get; } = Read();

    private static string Read()
    {
        using var stream = typeof(Page).Assembly.GetManifestResourceStream("index.html")
            ?? throw new InvalidOperationException("index.html is not embedded in the ImageService assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
