using System.Text;
using Lethe.Experiments;
using Lethe.Storage;
using Lethe.Training;

namespace Lethe.Reports;

/// <summary>
/// The output of `lethe reproduce`: each table as tables/ID.md and tables/ID.json, and one report (report.md with
/// figures/, report.html self-contained) with every table, the paper's figures for comparison, and the plots.
/// </summary>
public static class ReproduceReport
{
    public const string MarkdownFile = "report.md";
    public const string HtmlFile = "report.html";
    public const string TablesFolder = "tables";

    /// <summary>What the paper printed for each table (CIFAR-10 unless it says otherwise), quoted beside ours.</summary>
    static readonly Dictionary<string, string> Paper = new()
    {
        ["table-ii"] = "MoCo, ResNet-18. CIFAR-10: model accuracy 70% → 60%, MIA accuracy 87% → 51% (recall 87% → 52%, precision 88% → 52%). " +
            "CIFAR-100: 32% → 25%, MIA 92% → 51%. SVHN: 76% → 73%, MIA 86% → 51%. No retrained model.",
        ["table-iii"] = "CIFAR-10, accuracy before → after and MIA before → after: MoCo 70% → 60%, 90% → 50%; SimCLR 66% → 60%, 70% → 50%; BYOL 55% → 49%, 70% → 50%.",
        ["table-iv"] = "Before: ACC 70%, MIA 87%, top-1 0.98, loss 0.8, cos sim 0.92. After (ACC, MIA, top-1, loss, cos sim): all three 60%, 51%, 0.22, 3.7, 0.59; " +
            "MNorm+GP 54%, 50%, 0.03, 4.4, 0.55; MNorm alone 10%, 50%, NaN; GP+MLoss 62%, 50%, 0.4, 3.2, 0.59; MNorm+MLoss 57%, 94%, 0.35, 1.23, 0.92; GP alone 55%, 50%, 0.4, 1.19, 0.59.",
        ["table-v"] = "Before as in table IV. After: MemGP+MLoss 60%, 50%, top-1 0.25, loss 3.9, cos sim 0.57; MemGP alone 51%, 50%, 0.23, 4.9, 0.54.",
        ["table-vi"] = "10,000 members; forgetting 1,000 / 2,000 / 3,000 / 4,000 / 5,000 / 10,000 gives accuracy after 56% / 60% / 61% / 63% / 64% / 67% " +
            "and MIA 51% / 51% / 52% / 52% / 50% / 53%; top-1 and cosine similarity of the forget set rise with its size.",
        ["table-vii"] = "ResNet-18. CIFAR-10: ACC 66% → 63% (retrained 62%), MIA 80% → 50%, member top-1 0.989 → 0.901 (retrained 0.916), non-member 0.889. " +
            "CIFAR-100: 32% → 28% (29%), MIA 90% → 50%. SVHN: 90% → 88% (85%), MIA 70% → 50%.",
        ["methods-encoder"] = "No counterpart: the paper compares with retraining only in table VII.",
        ["methods-classifier"] = "No counterpart: the paper compares with retraining only in table VII.",
    };

    public static ReportFiles Write(ReproduceResult result, string folder)
    {
        foreach (var table in result.Tables)
        {
            AtomicFile.WriteAllText(Path.Combine(folder, TablesFolder, table.Id + ".md"), $"# {table.Title}\n\n{table.Caption}\n\n{table.Markdown()}");
            LetheJson.WriteFile(Path.Combine(folder, TablesFolder, table.Id + ".json"), Json(table));
        }
        var figures = Figures(result);
        return ReportWriter.Write(folder, MarkdownFile, HtmlFile, Title(result), figures, image => Render(result, image, figures));
    }

    /// <summary>A table as JSON: its columns, and per row each cell's text or per-seed values with their mean and 95% confidence half-width.</summary>
    public static object Json(ResultTable table) => new
    {
        table.Id,
        table.Title,
        table.Caption,
        table.Columns,
        Rows = table.Rows.Select(row => row.Select(v => new { v.Label, v.Values, v.Mean, v.Ci95, v.Format, Text = v.ToString() })),
    };

    static string Title(ReproduceResult r) => $"Lethe: the paper's experiments at {r.Settings.Scale} scale";

    public static string Render(ReproduceResult r, Func<string, string> image, IReadOnlyList<(string Name, string Caption, byte[] Png)> figures)
    {
        var s = r.Settings;
        var text = new StringBuilder();
        text.Append($"# {Title(r)}\n\n");
        text.Append($"Scale `{s.Scale}` (encoder and classifier recipes: the `{s.Preset}` presets), data sets {string.Join(", ", s.DatasetNames)}, ")
            .Append($"{(s.Seeds == 1 ? $"one seed ({s.FirstSeed})" : $"{s.Seeds} seeds from {s.FirstSeed}; cells show the mean ± the standard deviation over seeds")}. ")
            .Append("Every setting is in reproduce-settings.json; each model's full audit is in audits/. ")
            .Append("MIA accuracy and precision are taken at equal priors (docs/membership-metrics.md); with a few dozen forgotten samples an AUC carries a standard error of about 0.05.\n\n");
        foreach (var table in r.Tables)
        {
            text.Append($"## {table.Title}\n\n{table.Caption}\n\n{table.Markdown()}\n");
            if (Paper.TryGetValue(table.Id, out var paper)) text.Append($"*Paper:* {paper}\n\n");
            foreach (var (name, caption, _) in figures.Where(f => f.Name.StartsWith(table.Id + "-", StringComparison.Ordinal)))
                text.Append($"![{caption}]({image(name)})\n\n*{caption}*\n\n");
        }
        text.Append("## Time\n\n")
            .Append($"{r.Measured} experiments measured in this run and {r.Reused} read from cells/ (finished earlier); this run took {r.Seconds / 60:F1} minutes. ")
            .Append($"Measuring all {r.Measured + r.Reused} took {r.CellSeconds / 60:F1} minutes of wall-clock time in all, the training runs they needed included.\n");
        return text.ToString();
    }

    public static IReadOnlyList<(string Name, string Caption, byte[] Png)> Figures(ReproduceResult r)
    {
        var figures = new List<(string, string, byte[])>();
        var s = r.Settings;
        var seed = s.FirstSeed;
        Measurement? Cell(string model, double fraction, string scenario) =>
            r.Cells.TryGetValue(new CellKey(seed, s.MainDataset, model, fraction, scenario), out var m) ? m : null;

        if (r.Tables.Any(t => t.Id == "table-ii"))
        {
            var curves = new[] { ("before", "original"), ("after unlearning", "memgp"), ("retrained", "retrained") }
                .Select(c => (c.Item1, Cell(s.MainMethod, Scenarios.BaseFraction, c.Item2))).Where(c => c.Item2 is not null)
                .Select(c => ($"{c.Item1} (AUC {MarkdownTable.Number(c.Item2!.Forget.Auc)})", c.Item2!.Forget.Roc)).ToList();
            figures.Add(("table-ii-roc", $"ROC of the EncoderMI threshold attack on the forget set, {s.MainDataset}, seed {seed}.", Plots.Roc("forget set vs non-members", curves)));
        }
        if (r.Tables.Any(t => t.Id == "table-vi"))
        {
            var points = s.ForgetFractions.Select(f => (f, Before: Cell(s.MainMethod, f, "original"), After: Cell(s.MainMethod, f, "memgp")))
                .Where(p => p.Before is not null && p.After is not null).ToList();
            var shares = points.Select(p => p.f * 100).ToArray();
            var accuracy = Plots.Scatter("kNN accuracy", "forgotten share of the members (%)", "accuracy",
                [new Series("before", shares, [.. points.Select(p => p.Before!.Utility)]), new Series("after MemGP", shares, [.. points.Select(p => p.After!.Utility)])], markerSize: 9);
            var auc = Plots.Scatter("forget-set MIA AUC", "forgotten share of the members (%)", "AUC",
                [new Series("before", shares, [.. points.Select(p => p.Before!.Forget.Auc)]), new Series("after MemGP", shares, [.. points.Select(p => p.After!.Forget.Auc)])], markerSize: 9);
            figures.Add(("table-vi-sizes", $"Accuracy and forget-set AUC against the forgotten share, seed {seed}.", Plots.Grid([accuracy, auc], 2)));
        }
        foreach (var (id, model, utility) in new[] { ("methods-encoder", s.MainMethod, "kNN accuracy"), ("methods-classifier", ReproduceSettings.ClassifierModel, "test accuracy") })
        {
            if (!r.Tables.Any(t => t.Id == id)) continue;
            // Every seed's cell of each scenario at the base share, ablation variants left out.
            var series = r.Cells.Where(c => c.Key.Dataset == s.MainDataset && c.Key.Model == model && c.Key.Fraction == Scenarios.BaseFraction && c.Key.Variant is null)
                .GroupBy(c => c.Key.Scenario)
                .Select(g => new Series(g.Key, [.. g.Select(c => c.Value.Forget.Auc)], [.. g.Select(c => c.Value.Utility)]))
                .ToList();
            figures.Add(($"{id}-tradeoff", $"Forget-set AUC (0.5 is chance) against {utility}, every method and seed; the retrained model is the target.",
                Plots.Scatter($"{TrainingMethods.DisplayName(model)}: forgetting vs utility", "forget-set MIA AUC", utility, series, markerSize: 9)));
        }
        return figures;
    }
}
