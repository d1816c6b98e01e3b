using System.Globalization;
using Microsoft.ML.Data;
using Spectre.Console;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// Prints a confusion matrix that a reader can take in at a glance: one row per true class with its name,
/// columns numbered like the rows, a dot for zero and the diagonal in bold green so that it stands out,
/// recall at the end of each row and precision under each column.
/// </summary>
internal static class ConfusionMatrixTable
{
    public static void Print(ConfusionMatrix matrix, IReadOnlyList<string> classNames)
    {
        var classes = matrix.NumberOfClasses;
        var table = new Table().Border(TableBorder.Rounded).ShowFooters();
        table.AddColumn(new TableColumn(string.Empty).RightAligned());
        table.AddColumn(new TableColumn("true class").Footer("precision"));
        for (var column = 0; column < classes; column++)
        {
            var precision = matrix.PerClassPrecision[column].ToString("F2", CultureInfo.InvariantCulture);
            table.AddColumn(new TableColumn(column.ToString(CultureInfo.InvariantCulture)).RightAligned().Footer(precision));
        }

        table.AddColumn(new TableColumn("recall").RightAligned());
        for (var row = 0; row < classes; row++)
        {
            var cells = new List<Text> { new(row.ToString(CultureInfo.InvariantCulture)), new(classNames[row]) };
            cells.AddRange(matrix.Counts[row].Select((count, column) => count == 0
                ? new Text(".", new Style(Color.Grey))
                : new Text(count.ToString("0", CultureInfo.InvariantCulture), column == row ? new Style(Color.Green, decoration: Decoration.Bold) : new Style(Color.Yellow))));
            cells.Add(new Text(matrix.PerClassRecall[row].ToString("F2", CultureInfo.InvariantCulture)));
            table.AddRow(cells);
        }

        Console.WriteLine("Confusion matrix (rows: true class; columns: predicted class, numbered as the rows):");
        SampleConsole.Results.Write(table);
    }
}
