using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using GoodTransfer.ML.PackageTests.Support;

namespace GoodTransfer.ML.PackageTests;

/// <summary>The notebook as saved: a .NET Interactive C# notebook without outputs that installs this version of the package (NotebookKernelTests runs it).</summary>
public sealed partial class NotebookTests
{
    public const string NotebookPath = "samples/Notebook/GoodTransfer.ML.ipynb";

    [Fact]
    public void The_notebook_installs_the_version_that_the_repository_packs_and_the_samples_OxyPlot()
    {
        var oxyPlot = XDocument.Load(Repository.PathOf("Directory.Packages.props")).Descendants("PackageVersion")
            .Single(p => (string?)p.Attribute("Include") == "OxyPlot.Core").Attribute("Version")!.Value;

        Assert.Equal([("GoodTransfer.ML", Repository.VersionPrefix), ("OxyPlot.Core", oxyPlot)], PackageLines());
    }

    [Fact]
    public void The_notebook_is_a_CSharp_dotnet_interactive_notebook_saved_without_outputs()
    {
        using var notebook = JsonDocument.Parse(File.ReadAllText(Repository.PathOf(NotebookPath)));
        var root = notebook.RootElement;

        Assert.Equal(4, root.GetProperty("nbformat").GetInt32());
        Assert.Equal(JupyterKernel.KernelName, root.GetProperty("metadata").GetProperty("kernelspec").GetProperty("name").GetString());
        Assert.Equal("C#", root.GetProperty("metadata").GetProperty("language_info").GetProperty("name").GetString());
        var code = root.GetProperty("cells").EnumerateArray().Where(c => c.GetProperty("cell_type").GetString() == "code").ToList();
        Assert.NotEmpty(code);
        Assert.All(code, cell =>
        {
            Assert.Equal("csharp", cell.GetProperty("metadata").GetProperty("dotnet_interactive").GetProperty("language").GetString());
            Assert.Equal("csharp", cell.GetProperty("metadata").GetProperty("polyglot_notebook").GetProperty("kernelName").GetString());
            Assert.Equal(0, cell.GetProperty("outputs").GetArrayLength());
            Assert.Equal(JsonValueKind.Null, cell.GetProperty("execution_count").ValueKind);
        });
    }

    /// <summary>The packages of the notebook's `#r "nuget: Id, Version"` lines, in order.</summary>
    private static List<(string, string)> PackageLines()
    {
        using var notebook = JsonDocument.Parse(File.ReadAllText(Repository.PathOf(NotebookPath)));
        return [.. notebook.RootElement.GetProperty("cells").EnumerateArray()
            .Where(c => c.GetProperty("cell_type").GetString() == "code")
            .SelectMany(c => c.GetProperty("source").EnumerateArray().Select(line => PackageLine().Match(line.GetString()!)))
            .Where(m => m.Success)
            .Select(m => (m.Groups[1].Value, m.Groups[2].Value))];
    }

    [GeneratedRegex("""^#r\s+"nuget:\s*([^,"\s]+)\s*,\s*([^"\s]+)\s*"\s*$""")]
    private static partial Regex PackageLine();
}
