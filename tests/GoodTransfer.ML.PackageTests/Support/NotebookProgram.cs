using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace GoodTransfer.ML.PackageTests.Support;

/// <summary>
/// A .NET Interactive notebook's C# cells turned into the files of a console program, so that a test can build
/// and run them as they are: `#r "nuget: ..."` lines become the project's package references (the caller adds
/// them), `using` directives become global usings, cells that only declare types go to a file of their own
/// (top-level statements must come before type declarations), and the other cells become Program.cs in order.
/// `display(...)` comes from FreshProjects/Notebook/Display.cs, which prints to the console.
/// </summary>
public sealed partial class NotebookProgram
{
    private NotebookProgram(IReadOnlyList<(string Id, string Version)> packages, string usings, string types, string program)
    {
        Packages = packages;
        Usings = usings;
        Types = types;
        Program = program;
    }

    /// <summary>The packages that the notebook's `#r "nuget: Id, Version"` lines ask for.</summary>
    public IReadOnlyList<(string Id, string Version)> Packages { get; }

    public string Usings { get; }

    public string Types { get; }

    public string Program { get; }

    public static NotebookProgram Read(string notebookPath)
    {
        using var notebook = JsonDocument.Parse(File.ReadAllText(notebookPath));
        var packages = new List<(string, string)>();
        var usings = new StringBuilder("global using static Notebook;\n");
        var types = new StringBuilder();
        var program = new StringBuilder();
        var number = 0;
        foreach (var cell in notebook.RootElement.GetProperty("cells").EnumerateArray())
        {
            number++;
            if (cell.GetProperty("cell_type").GetString() != "code")
            {
                continue;
            }

            var code = new StringBuilder();
            foreach (var line in string.Concat(cell.GetProperty("source").EnumerateArray().Select(part => part.GetString())).Split('\n'))
            {
                if (PackageLine().Match(line) is { Success: true } package)
                {
                    packages.Add((package.Groups[1].Value, package.Groups[2].Value));
                }
                else if (line.StartsWith('#'))
                {
                    throw new NotSupportedException($"Cell {number}: '{line}' is a notebook directive that a console program has no equivalent for.");
                }
                else if (UsingLine().IsMatch(line))
                {
                    usings.Append("global ").AppendLine(line.Trim());
                }
                else
                {
                    code.AppendLine(line);
                }
            }

            var text = code.ToString().Trim();
            if (text.Length > 0)
            {
                (TypeDeclaration().IsMatch(text) ? types : program).Append(CultureInfo.InvariantCulture, $"// Cell {number}\n{text}\n\n");
            }
        }

        return new NotebookProgram(packages, usings.ToString(), types.ToString(), program.ToString());
    }

    [GeneratedRegex("""^#r\s+"nuget:\s*([^,"\s]+)\s*,\s*([^"\s]+)\s*"\s*$""")]
    private static partial Regex PackageLine();

    [GeneratedRegex(@"^using\s+[\w.]+\s*;\s*$")]
    private static partial Regex UsingLine();

    [GeneratedRegex(@"^(public\s+|internal\s+)?(sealed\s+|static\s+|abstract\s+)*(class|record|struct|interface|enum)\s")]
    private static partial Regex TypeDeclaration();
}
