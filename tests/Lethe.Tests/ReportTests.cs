using Lethe.Audits;
using Lethe.Reports;
using SkiaSharp;

namespace Lethe.Tests;

public class ReportTests
{
    static float[][] Clusters(int perCluster, int dimension, int clusters, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, clusters * perCluster).Select(i =>
            Enumerable.Range(0, dimension).Select(d => (float)((d == i / perCluster ? 10 : 0) + random.NextDouble())).ToArray())];
    }

    [Fact]
    public void TsneBandwidthsMatchThePerplexity()
    {
        var points = Clusters(20, 5, 3, 1);
        var distances = Tsne.SquaredDistances(points);
        foreach (var i in new[] { 0, 17, 45 })
        {
            var row = Tsne.ConditionalRow(distances, i, perplexity: 10);
            Assert.Equal(1, row.Sum(), 9);
            Assert.Equal(0, row[i]);
            var entropy = -row.Where(p => p > 0).Sum(p => p * Math.Log(p));
            Assert.Equal(Math.Log(10), entropy, 4);
        }
    }

    [Fact]
    public void TsneKeepsClustersApartAndLowersTheDivergence()
    {
        var points = Clusters(15, 6, 3, 2);
        var settings = new TsneSettings { Perplexity = 10, Iterations = 400, Seed = 3 };
        var embedding = Tsne.Embed(points, settings);
        Assert.Equal(points.Length, embedding.Length);
        // Every point's nearest neighbour in the embedding comes from its own cluster.
        for (var i = 0; i < embedding.Length; i++)
        {
            var nearest = Enumerable.Range(0, embedding.Length).Where(j => j != i)
                .MinBy(j => Math.Pow(embedding[i][0] - embedding[j][0], 2) + Math.Pow(embedding[i][1] - embedding[j][1], 2));
            Assert.True(i / 15 == nearest / 15, $"point {i} at ({embedding[i][0]:F2}, {embedding[i][1]:F2}) is nearest {nearest} at ({embedding[nearest][0]:F2}, {embedding[nearest][1]:F2}); all: " + string.Join(" ", embedding.Select(e => $"({e[0]:F1},{e[1]:F1})")));
        }
        // The optimiser does the work: the divergence falls far below that of its (PCA) start.
        var start = Tsne.Embed(points, settings with { Iterations = 0 });
        Assert.True(Tsne.Divergence(points, embedding, 10) < Tsne.Divergence(points, start, 10) / 2);
        Assert.Equal(embedding, Tsne.Embed(points, settings));
    }

    [Fact]
    public void PlotsArePngsAndGridsTileThem()
    {
        var histogram = Plots.Histogram("h", "x", [Series.Values("a", [0.1, 0.2, 0.2, 0.9]), Series.Values("b", [0.5, 0.6])]);
        var roc = Plots.Roc("r", [("m", MembershipMetrics.Roc([0.9, 0.4], [0.3, 0.5]))]);
        var scatter = Plots.Scatter("s", "x", "y", [new Series("a", [1, 2], [3, 4])]);
        foreach (var png in new[] { histogram, roc, scatter })
        {
            using var bitmap = SKBitmap.Decode(png);
            Assert.Equal(Plots.PanelWidth, bitmap.Width);
            Assert.Equal(Plots.PanelHeight, bitmap.Height);
        }
        using var grid = SKBitmap.Decode(Plots.Grid([histogram, roc, scatter, histogram], columns: 3));
        Assert.Equal(3 * Plots.PanelWidth, grid.Width);
        Assert.Equal(2 * Plots.PanelHeight, grid.Height);
        Assert.Equal(SKColors.White, grid.GetPixel(grid.Width - 1, grid.Height - 1));
    }

    [Fact]
    public void MarkdownTablesEscapePipesAndCheckWidths()
    {
        var table = new MarkdownTable("a", "b").Add("x|y", MarkdownTable.Percent(0.1234)).ToString();
        Assert.Equal("| a | b |\n| --- | ---: |\n| x\\|y | 12.3% |\n", table);
        Assert.Throws<ArgumentException>(() => new MarkdownTable("a").Add("1", "2"));
    }
}
