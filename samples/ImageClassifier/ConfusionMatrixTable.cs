using System.Globalization;
using Microsoft.ML.Data;
using static System.FormattableString;

namespace GoodTransfer.ML.Samples;

/// <summary>
/// Prints a confusion matrix that a reader can take in at a glance: one row per true class with its name,
/// columns numbered like the rows, a dot for zero so that the diagonal stands out, recall at the end of each
/// row and precision under each column.
/// </summary>
internal static class ConfusionMatrixTable
{
    private const int CellWidth = 5;

    public static void Print(ConfusionMatrix matrix, IReadOnlyList<string> classNames)
    {
        var nameWidth = Math.Max(9, classNames.Max(n => n.Length));
        var classes = matrix.NumberOfClasses;
        Console.WriteLine("Confusion matrix (rows: true class; columns: predicted class, numbered as the rows):");
        var header = $"  {string.Empty,3} {string.Empty.PadRight(nameWidth)}"
            + string.Concat(Enumerable.Range(0, classes).Select(c => c.ToString(CultureInfo.InvariantCulture).PadLeft(CellWidth)))
            + "  recall";
        Console.WriteLine(header);
        for (var row = 0; row < classes; row++)
        {
            var cells = matrix.Counts[row].Select(count => (count == 0 ? "." : count.ToString("0", CultureInfo.InvariantCulture)).PadLeft(CellWidth));
            Console.WriteLine(Invariant($"  {row,3} {classNames[row].PadRight(nameWidth)}{string.Concat(cells)}  {matrix.PerClassRecall[row]:F2}"));
        }

        var precision = matrix.PerClassPrecision.Select(p => p.ToString("F2", CultureInfo.InvariantCulture).PadLeft(CellWidth));
        Console.WriteLine($"  {string.Empty,3} {"precision".PadRight(nameWidth)}{string.Concat(precision)}");
    }
}
