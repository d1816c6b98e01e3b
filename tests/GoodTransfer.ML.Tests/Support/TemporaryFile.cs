namespace GoodTransfer.ML.Tests.Support;

/// <summary>A file in a fresh temporary folder, deleted with the folder on dispose.</summary>
public sealed class TemporaryFile : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("goodtransfer-test-");

    public TemporaryFile(byte[] content, string name = "checkpoint.pth")
    {
        Path = System.IO.Path.Combine(directory.FullName, name);
        File.WriteAllBytes(Path, content);
    }

    public TemporaryFile(string name)
    {
        Path = System.IO.Path.Combine(directory.FullName, name);
    }

    public string Path { get; }

    public string Folder => directory.FullName;

    public void Dispose() => directory.Delete(recursive: true);
}
