using System.Text.Json;
using GoodTransfer.ML.PackageTests.Support;

namespace GoodTransfer.ML.PackageTests;

/// <summary>The notebook is a .NET Interactive C# notebook that installs this version of the package (CpuPackageTests runs its code).</summary>
public sealed class NotebookTests
{
    public const string NotebookPath = "samples/Notebook/GoodTransfer.ML.ipynb";

    [Fact]
    public void The_notebook_installs_the_version_that_the_repository_packs()
    {
        Assert.Equal([("GoodTransfer.ML", Repository.VersionPrefix)], NotebookProgram.Read(Repository.PathOf(NotebookPath)).Packages);
    }

    [Fact]
    public void The_notebook_is_a_CSharp_dotnet_interactive_notebook_saved_without_outputs()
    {
        using var notebook = JsonDocument.Parse(File.ReadAllText(Repository.PathOf(NotebookPath)));
        var root = notebook.RootElement;

        Assert.Equal(4, root.GetProperty("nbformat").GetInt32());
        Assert.Equal(".net-csharp", root.GetProperty("metadata").GetProperty("kernelspec").GetProperty("name").GetString());
        Assert.Equal("C#", root.GetProperty("metadata").GetProperty("language_info").GetProperty("name").GetString());
        var code = root.GetProperty("cells").EnumerateArray().Where(c => c.GetProperty("cell_type").GetString() == "code").ToList();
        Assert.NotEmpty(code);
        Assert.All(code, cell =>
        {
            Assert.Equal("csharp", cell.GetProperty("metadata").GetProperty("dotnet_interactive").GetProperty("language").GetString());
            Assert.Equal("csharp", cell.GetProperty("metadata").GetProperty("polyglot_notebook").GetProperty("kernelName").GetString());
            Assert.Equal(0, cell.GetProperty("outputs").GetArrayLength());
        });
    }
}
