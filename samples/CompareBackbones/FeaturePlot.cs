using SkiaSharp;
using static System.FormattableString;

namespace GoodTransfer.ML.Samples;

/// <summary>One panel of the plot: a backbone's name, what it scored, and its images projected to two dimensions.</summary>
internal sealed record PlotPanel(string Title, string Subtitle, PrincipalComponents Projection);

/// <summary>
/// Draws the PCA projections of several backbones' features in a grid (one row up to three panels, then as
/// square as it goes), each image a dot coloured by its class, with one legend of the classes on the right, and
/// writes it as a PNG.
/// </summary>
internal static class FeaturePlot
{
    public const int PanelSize = 420;
    public const int LegendWidth = 200;
    public const int TitleHeight = 40;
    private const int Margin = 36;
    private const float DotRadius = 3.5f;

    /// <summary>Tableau's ten categorical colours, which stay distinct for most readers; more classes get evenly spaced hues.</summary>
    private static readonly SKColor[] Palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xff, 0x7f, 0x0e), new(0x2c, 0xa0, 0x2c), new(0xd6, 0x27, 0x28), new(0x94, 0x67, 0xbd),
        new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0x7f, 0x7f, 0x7f), new(0xbc, 0xbd, 0x22), new(0x17, 0xbe, 0xcf),
    ];

    /// <summary>The image's size for <paramref name="panels"/> panels.</summary>
    public static (int Width, int Height) Size(int panels)
    {
        var columns = Columns(panels);
        var rows = (panels + columns - 1) / columns;
        return ((columns * PanelSize) + LegendWidth, (rows * PanelSize) + TitleHeight);
    }

    /// <summary>Draws the panels and writes the PNG to <paramref name="path"/>; <paramref name="labels"/> gives each point's class.</summary>
    public static void Write(string path, string title, IReadOnlyList<PlotPanel> panels, IReadOnlyList<string> labels, IReadOnlyList<string> classes)
    {
        var (width, height) = Size(panels.Count);
        var colours = Enumerable.Range(0, classes.Count).Select(i => Colour(i, classes.Count)).ToArray();
        var classIndex = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        using var typeface = SKTypeface.FromFamilyName("DejaVu Sans") ?? SKTypeface.Default;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var heading = new SKPaint { Color = SKColors.Black, IsAntialias = true, TextSize = 18, Typeface = typeface };
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true, TextSize = 13, Typeface = typeface };
        using var grey = new SKPaint { Color = new SKColor(0x55, 0x55, 0x55), IsAntialias = true, TextSize = 11, Typeface = typeface };
        using var frame = new SKPaint { Color = new SKColor(0xcc, 0xcc, 0xcc), Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        using var dot = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Fill };
        canvas.DrawText(title, 12, 26, heading);

        var columns = Columns(panels.Count);
        for (var p = 0; p < panels.Count; p++)
        {
            var left = (p % columns) * PanelSize;
            var top = TitleHeight + ((p / columns) * PanelSize);
            var area = new SKRect(left + Margin, top + Margin + 8, left + PanelSize - 12, top + PanelSize - Margin + 8);
            var panel = panels[p];
            canvas.DrawText(panel.Title, left + Margin, top + 20, text);
            canvas.DrawText(panel.Subtitle, left + Margin, top + 36, grey);
            canvas.DrawRect(area, frame);
            var explained = panel.Projection.ExplainedVariance;
            canvas.DrawText(Invariant($"PC1 ({explained[0]:P0} of variance)"), area.Left, area.Bottom + 16, grey);
            canvas.Save();
            canvas.RotateDegrees(-90, area.Left - 8, area.Bottom);
            canvas.DrawText(Invariant($"PC2 ({explained[1]:P0})"), area.Left - 8, area.Bottom, grey);
            canvas.Restore();

            var points = panel.Projection.Points;
            var (minX, maxX) = Range(points.Select(q => q[0]));
            var (minY, maxY) = Range(points.Select(q => q[1]));
            for (var i = 0; i < points.Count; i++)
            {
                var x = area.Left + 6 + (float)((points[i][0] - minX) / (maxX - minX) * (area.Width - 12));
                var y = area.Bottom - 6 - (float)((points[i][1] - minY) / (maxY - minY) * (area.Height - 12));
                dot.Color = colours[classIndex[labels[i]]];
                canvas.DrawCircle(x, y, DotRadius, dot);
            }
        }

        var legendLeft = (columns * PanelSize) + 8;
        var legendTop = TitleHeight + Margin + 8;
        var spacing = Math.Min(20f, (height - legendTop - 8f) / classes.Count);
        for (var c = 0; c < classes.Count; c++)
        {
            var y = legendTop + (c * spacing);
            dot.Color = colours[c];
            canvas.DrawCircle(legendLeft + 8, y - 4, 5, dot);
            canvas.DrawText(classes[c], legendLeft + 20, y, text);
        }

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        png.SaveTo(file);
    }

    /// <summary>Panels per row: all of them up to three, then the side of the smallest square grid (four make two rows of two).</summary>
    private static int Columns(int panels) => panels <= 3 ? panels : (int)Math.Ceiling(Math.Sqrt(panels));

    private static SKColor Colour(int index, int count) =>
        count <= Palette.Length ? Palette[index] : SKColor.FromHsv(360f * index / count, 75, 85);

    /// <summary>The range of the values, widened where they are all equal so that nothing divides by zero.</summary>
    private static (double Min, double Max) Range(IEnumerable<double> values)
    {
        var list = values.ToList();
        var (min, max) = (list.Min(), list.Max());
        return max > min ? (min, max) : (min - 1, max + 1);
    }
}
