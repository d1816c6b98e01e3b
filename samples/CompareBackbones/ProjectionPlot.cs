using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using OxyPlot.SkiaSharp;
using SkiaSharp;
using static System.FormattableString;

namespace GoodTransfer.ML.Samples;

/// <summary>One panel of the plot: a backbone's name, what it scored, and its images projected to two dimensions.</summary>
internal sealed record PlotPanel(string Title, string Subtitle, Projection Projection);

/// <summary>
/// Draws the PCA projections of several backbones' features with OxyPlot, one panel per backbone in a grid
/// (one row up to three panels, then as square as it goes), each a scatter plot with axes, ticks and grid
/// lines, each image a point with its class's colour and marker; one legend of the classes on the right.
/// Writes it as a PNG (OxyPlot.SkiaSharp, on the SkiaSharp 2.88 that ML.NET's images use).
/// </summary>
internal static class ProjectionPlot
{
    public const int PanelWidth = 440;
    public const int PanelHeight = 420;
    public const int LegendWidth = 170;
    public const int TitleHeight = 40;
    private const string Font = "DejaVu Sans";

    /// <summary>Tableau's ten categorical colours, which stay distinct for most readers; more classes get evenly spaced hues.</summary>
    private static readonly OxyColor[] Palette =
    [
        OxyColor.FromRgb(0x1f, 0x77, 0xb4), OxyColor.FromRgb(0xff, 0x7f, 0x0e), OxyColor.FromRgb(0x2c, 0xa0, 0x2c), OxyColor.FromRgb(0xd6, 0x27, 0x28), OxyColor.FromRgb(0x94, 0x67, 0xbd),
        OxyColor.FromRgb(0x8c, 0x56, 0x4b), OxyColor.FromRgb(0xe3, 0x77, 0xc2), OxyColor.FromRgb(0x7f, 0x7f, 0x7f), OxyColor.FromRgb(0xbc, 0xbd, 0x22), OxyColor.FromRgb(0x17, 0xbe, 0xcf),
    ];

    /// <summary>Markers cycle as well as colours, so that neighbouring classes differ in shape for readers who do not tell the colours apart.</summary>
    private static readonly MarkerType[] Markers = [MarkerType.Circle, MarkerType.Square, MarkerType.Diamond, MarkerType.Triangle];

    /// <summary>The image's size for <paramref name="panels"/> panels.</summary>
    public static (int Width, int Height) Size(int panels)
    {
        var columns = Columns(panels);
        var rows = (panels + columns - 1) / columns;
        return ((columns * PanelWidth) + LegendWidth, (rows * PanelHeight) + TitleHeight);
    }

    /// <summary>Draws the panels and writes the PNG to <paramref name="path"/>; <paramref name="labels"/> gives each point's class.</summary>
    public static void Write(string path, string title, IReadOnlyList<PlotPanel> panels, IReadOnlyList<string> labels, IReadOnlyList<string> classes)
    {
        var (width, height) = Size(panels.Count);
        var columns = Columns(panels.Count);
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        using (var context = new SkiaRenderContext { RenderTarget = RenderTarget.PixelGraphic, SkCanvas = canvas })
        {
            canvas.Clear(SKColors.White);
            context.DrawText(new ScreenPoint(12, 10), title, OxyColors.Black, Font, 17, FontWeights.Bold);
            for (var p = 0; p < panels.Count; p++)
            {
                var cell = new OxyRect((p % columns) * PanelWidth, TitleHeight + ((p / columns) * PanelHeight), PanelWidth, PanelHeight);
                Render(Panel(panels[p], labels, classes), context, canvas, cell);
            }

            Render(Legend(classes), context, canvas, new OxyRect(columns * PanelWidth, TitleHeight, LegendWidth, height - TitleHeight));
        }

        using var file = File.Create(path);
        bitmap.Encode(file, SKEncodedImageFormat.Png, 100);
    }

    /// <summary>A backbone's scatter plot: one series per class, the components' shares of the variance on the axes.</summary>
    private static PlotModel Panel(PlotPanel panel, IReadOnlyList<string> labels, IReadOnlyList<string> classes)
    {
        var model = Model(panel.Title, panel.Subtitle);
        var explained = panel.Projection.ExplainedVariance;
        model.Axes.Add(Axis(AxisPosition.Bottom, Invariant($"PC1 ({explained[0]:P0} of variance)")));
        model.Axes.Add(Axis(AxisPosition.Left, Invariant($"PC2 ({explained[1]:P0})")));
        var series = classes.Select((c, i) => Series(c, i, classes.Count)).ToList();
        var classIndex = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        var points = panel.Projection.Points;
        for (var i = 0; i < points.Count; i++)
        {
            series[classIndex[labels[i]]].Points.Add(new ScatterPoint(points[i][0], points[i][1]));
        }

        foreach (var s in series)
        {
            model.Series.Add(s);
        }

        return model;
    }

    /// <summary>The legend alone: the classes' series without points, on hidden axes.</summary>
    private static PlotModel Legend(IReadOnlyList<string> classes)
    {
        var model = Model(title: null, subtitle: null);
        model.PlotAreaBorderThickness = new OxyThickness(0);
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, IsAxisVisible = false });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, IsAxisVisible = false });
        model.Legends.Add(new Legend
        {
            LegendTitle = "class",
            LegendPlacement = LegendPlacement.Inside,
            LegendPosition = LegendPosition.TopLeft,
            LegendFontSize = 13,
            LegendSymbolLength = 14,
        });
        for (var i = 0; i < classes.Count; i++)
        {
            model.Series.Add(Series(classes[i], i, classes.Count));
        }

        return model;
    }

    private static PlotModel Model(string? title, string? subtitle) => new()
    {
        Title = title,
        Subtitle = subtitle,
        DefaultFont = Font,
        TitleFontSize = 14,
        TitleFontWeight = FontWeights.Bold,
        SubtitleFontSize = 12,
        TitleHorizontalAlignment = TitleHorizontalAlignment.CenteredWithinPlotArea,
        PlotAreaBorderColor = OxyColor.FromRgb(0x99, 0x99, 0x99),
        Padding = new OxyThickness(8, 4, 12, 8),
    };

    private static LinearAxis Axis(AxisPosition position, string title) => new()
    {
        Position = position,
        Title = title,
        FontSize = 11,
        TitleFontSize = 12,
        MajorGridlineStyle = LineStyle.Dot,
        MajorGridlineColor = OxyColor.FromRgb(0xdd, 0xdd, 0xdd),
        TickStyle = TickStyle.Outside,
        MinimumPadding = 0.05,
        MaximumPadding = 0.05,
    };

    private static ScatterSeries Series(string name, int index, int count) => new()
    {
        Title = name,
        MarkerType = Markers[index % Markers.Length],
        MarkerSize = 3.5,
        MarkerFill = count <= Palette.Length ? Palette[index] : OxyColor.FromHsv((double)index / count, 0.75, 0.85),
        MarkerStrokeThickness = 0,
    };

    /// <summary>Lays <paramref name="model"/> out in <paramref name="cell"/> of the canvas and draws it there.</summary>
    private static void Render(PlotModel model, SkiaRenderContext context, SKCanvas canvas, OxyRect cell)
    {
        IPlotModel plot = model;
        plot.Update(true);
        canvas.Save();
        canvas.Translate((float)cell.Left, (float)cell.Top);
        plot.Render(context, new OxyRect(0, 0, cell.Width, cell.Height));
        canvas.Restore();
    }

    /// <summary>Panels per row: all of them up to three, then the side of the smallest square grid (four make two rows of two).</summary>
    private static int Columns(int panels) => panels <= 3 ? panels : (int)Math.Ceiling(Math.Sqrt(panels));
}
