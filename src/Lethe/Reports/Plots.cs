using ScottPlot;
using SkiaSharp;

namespace Lethe.Reports;

/// <summary>A named group of points or values, drawn in one colour.</summary>
public sealed record Series(string Label, IReadOnlyList<double> Xs, IReadOnlyList<double> Ys)
{
    public static Series Values(string label, IReadOnlyList<double> values) => new(label, values, []);
}

/// <summary>
/// The report's figures, drawn with ScottPlot into PNG bytes. Panels side by side are composed with SkiaSharp
/// (ScottPlot's own renderer), so that each figure is one image.
/// </summary>
public static class Plots
{
    public const int PanelWidth = 520;
    public const int PanelHeight = 400;

    // Ten distinct colours (the first six as before): the method plots have up to ten series.
    static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    static Plots()
    {
        // The Linux SkiaSharp assets ScottPlot ships cannot ask fontconfig for fonts by name; give it a file.
        foreach (var file in new[] { "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf" })
        {
            if (!File.Exists(file)) continue;
            Fonts.AddFontFile("DejaVu Sans", file);
            Fonts.Default = "DejaVu Sans";
            break;
        }
    }

    public static Color ColorOf(int index) => Color.FromHex(Palette[index % Palette.Length]);

    /// <summary>Overlaid density histograms (as step outlines) of several groups over one shared range.</summary>
    public static byte[] Histogram(string title, string xLabel, IReadOnlyList<Series> groups, int bins = 30, (double Min, double Max)? range = null)
    {
        var all = groups.SelectMany(g => g.Xs).ToArray();
        if (all.Length == 0) throw new ArgumentException("a histogram needs values");
        var (min, max) = range ?? (all.Min(), all.Max());
        if (max <= min) max = min + 1e-6;
        var width = (max - min) / bins;
        var plot = new Plot();
        for (var g = 0; g < groups.Count; g++)
        {
            var counts = new double[bins];
            foreach (var v in groups[g].Xs) counts[Math.Clamp((int)((v - min) / width), 0, bins - 1)]++;
            var total = Math.Max(1, groups[g].Xs.Count);
            // Step outline: each bin's density held across the bin, closed at both ends.
            var xs = new List<double> { min };
            var ys = new List<double> { 0 };
            for (var b = 0; b < bins; b++)
            {
                xs.Add(min + b * width);
                ys.Add(counts[b] / total / width);
                xs.Add(min + (b + 1) * width);
                ys.Add(counts[b] / total / width);
            }
            xs.Add(max);
            ys.Add(0);
            var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), ColorOf(g));
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = $"{groups[g].Label} (n={groups[g].Xs.Count})";
        }
        return Render(plot, title, xLabel, "density", Alignment.UpperLeft);
    }

    /// <summary>ROC curves with the chance diagonal, on linear axes.</summary>
    public static byte[] Roc(string title, IReadOnlyList<(string Label, IReadOnlyList<Audits.RocPoint> Points)> curves)
    {
        var plot = new Plot();
        var chance = plot.Add.Scatter(new[] { 0.0, 1.0 }, new[] { 0.0, 1.0 }, Colors.Gray);
        chance.LinePattern = LinePattern.Dashed;
        chance.MarkerSize = 0;
        chance.LegendText = "chance";
        for (var c = 0; c < curves.Count; c++)
        {
            var line = plot.Add.Scatter(curves[c].Points.Select(p => p.Fpr).ToArray(), curves[c].Points.Select(p => p.Tpr).ToArray(), ColorOf(c));
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = curves[c].Label;
        }
        plot.Axes.SetLimits(0, 1, 0, 1.02);
        return Render(plot, title, "false-positive rate", "true-positive rate");
    }

    /// <summary>Scatter of several groups of points.</summary>
    public static byte[] Scatter(string title, string xLabel, string yLabel, IReadOnlyList<Series> groups, float markerSize = 5)
    {
        var plot = new Plot();
        for (var g = 0; g < groups.Count; g++)
        {
            var points = plot.Add.ScatterPoints(groups[g].Xs.ToArray(), groups[g].Ys.ToArray(), ColorOf(g).WithAlpha(0.6));
            points.MarkerSize = markerSize;
            points.LegendText = groups[g].Label;
        }
        // Room under the points for the legend in the lower right, which would otherwise hide the lowest ones.
        plot.Axes.Margins(left: 0.05, right: 0.05, bottom: 0.35, top: 0.1);
        return Render(plot, title, xLabel, yLabel);
    }

    static byte[] Render(Plot plot, string title, string xLabel, string yLabel, Alignment legend = Alignment.LowerRight)
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(legend);
        return plot.GetImageBytes(PanelWidth, PanelHeight, ImageFormat.Png);
    }

    /// <summary>Lays PNG panels out in a grid of <paramref name="columns"/> columns, row by row, on white.</summary>
    public static byte[] Grid(IReadOnlyList<byte[]> panels, int columns)
    {
        if (panels.Count == 0) throw new ArgumentException("a grid needs panels");
        var bitmaps = panels.Select(p => SKBitmap.Decode(p) ?? throw new ArgumentException("a panel is not a readable image")).ToArray();
        try
        {
            var cellWidth = bitmaps.Max(b => b.Width);
            var cellHeight = bitmaps.Max(b => b.Height);
            var rows = (bitmaps.Length + columns - 1) / columns;
            var cols = Math.Min(columns, bitmaps.Length);
            using var surface = SKSurface.Create(new SKImageInfo(cellWidth * cols, cellHeight * rows));
            surface.Canvas.Clear(SKColors.White);
            for (var i = 0; i < bitmaps.Length; i++)
                surface.Canvas.DrawBitmap(bitmaps[i], i % columns * cellWidth, i / columns * cellHeight);
            using var image = surface.Snapshot();
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            return data.ToArray();
        }
        finally
        {
            foreach (var b in bitmaps) b.Dispose();
        }
    }
}
