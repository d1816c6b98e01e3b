using System.Globalization;
using System.Text;
using System.Text.Json;
using Xunit.Sdk;

namespace GoodTransfer.ML.PackageTests.Support;

/// <summary>One output of a cell as the executed notebook holds it: its type (display_data, stream, error...) and its data by MIME type.</summary>
public sealed record CellOutput(string Type, IReadOnlyDictionary<string, string> Data)
{
    public string? Text => Data.GetValueOrDefault("text/plain");

    public string? Html => Data.GetValueOrDefault("text/html");

    public override string ToString() =>
        $"[{Type}] " + string.Join(" | ", Data.Select(d => $"{d.Key}: {(d.Value.Length > 300 ? d.Value[..300] + "..." : d.Value)}"));
}

/// <summary>A code cell after execution: its index among all cells, its source and what it shows.</summary>
public sealed record ExecutedCell(int Index, string Source, IReadOnlyList<CellOutput> Outputs)
{
    public IEnumerable<string> Texts => Outputs.Select(o => o.Text).OfType<string>();

    public IEnumerable<string> Htmls => Outputs.Select(o => o.Html).OfType<string>();
}

/// <summary>A message of the kernel's that nbclient handled for a cell (Kernel/execute_notebook.py records them).</summary>
public sealed record KernelMessage(int Cell, string Type, string? DisplayId, string? Text);

/// <summary>
/// A notebook that a real kernel executed: its code cells with their outputs (what a front end shows once they
/// have run, display updates applied), and the messages that made them.
/// </summary>
public sealed class ExecutedNotebook
{
    private ExecutedNotebook(IReadOnlyList<ExecutedCell> cells, IReadOnlyList<KernelMessage> messages, CommandResult run)
    {
        Cells = cells;
        Messages = messages;
        Run = run;
    }

    public IReadOnlyList<ExecutedCell> Cells { get; }

    public IReadOnlyList<KernelMessage> Messages { get; }

    /// <summary>What nbconvert and the kernel printed.</summary>
    public CommandResult Run { get; }

    public static ExecutedNotebook Read(string notebook, string messages, CommandResult run)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(notebook));
        var cells = new List<ExecutedCell>();
        var index = 0;
        foreach (var cell in document.RootElement.GetProperty("cells").EnumerateArray())
        {
            if (cell.GetProperty("cell_type").GetString() == "code")
            {
                var outputs = cell.GetProperty("outputs").EnumerateArray().Select(ReadOutput).ToList();
                cells.Add(new ExecutedCell(index, Joined(cell.GetProperty("source")), outputs));
            }

            index++;
        }

        var log = File.ReadLines(messages).Select(line =>
        {
            using var message = JsonDocument.Parse(line);
            var root = message.RootElement;
            return new KernelMessage(
                root.GetProperty("cell").GetInt32(),
                root.GetProperty("msg_type").GetString()!,
                root.GetProperty("display_id").GetString(),
                root.GetProperty("text").ValueKind == JsonValueKind.String ? root.GetProperty("text").GetString() : null);
        }).ToList();
        return new ExecutedNotebook(cells, log, run);
    }

    /// <summary>The one code cell whose source contains <paramref name="code"/>.</summary>
    public ExecutedCell CellWith(string code)
    {
        var found = Cells.Where(c => c.Source.Contains(code, StringComparison.Ordinal)).ToList();
        return found.Count == 1 ? found[0] : throw new XunitException($"{found.Count} code cells contain '{code}'.");
    }

    /// <summary>Every cell's outputs, for failure messages.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (var cell in Cells)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"cell {cell.Index}: {cell.Source.Split('\n')[0]}");
            foreach (var output in cell.Outputs)
            {
                text.AppendLine("  " + output);
            }
        }

        return text.ToString();
    }

    private static CellOutput ReadOutput(JsonElement output)
    {
        var type = output.GetProperty("output_type").GetString()!;
        var data = new Dictionary<string, string>(StringComparer.Ordinal);
        if (output.TryGetProperty("data", out var bundle))
        {
            foreach (var mime in bundle.EnumerateObject())
            {
                data[mime.Name] = mime.Value.ValueKind == JsonValueKind.Array ? Joined(mime.Value) : mime.Value.ToString();
            }
        }
        else if (type == "stream")
        {
            data["text/plain"] = Joined(output.GetProperty("text"));
        }
        else if (type == "error")
        {
            data["text/plain"] = $"{output.GetProperty("ename").GetString()}: {output.GetProperty("evalue").GetString()}";
        }

        return new CellOutput(type, data);
    }

    /// <summary>nbformat stores multi-line text as an array of lines, or as one string.</summary>
    private static string Joined(JsonElement text) =>
        text.ValueKind == JsonValueKind.Array ? string.Concat(text.EnumerateArray().Select(part => part.GetString())) : text.GetString() ?? string.Empty;
}
