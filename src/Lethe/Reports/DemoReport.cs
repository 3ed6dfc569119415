using System.Globalization;
using System.Text;
using Lethe.Audits;
using Lethe.Experiments;
using Lethe.Storage;
using static Lethe.Reports.MarkdownTable;

namespace Lethe.Reports;

/// <summary>
/// The demo's report: one Markdown file with its figures beside it in figures/, and one self-contained HTML page with
/// the same content and the figures embedded.
/// </summary>
public static class DemoReport
{
    public const string MarkdownFile = "report.md";
    public const string HtmlFile = "report.html";

    static readonly string[] Models = ["before", "after unlearning", "retrained"];

    public static ReportFiles Write(DemoResult result, string folder)
    {
        var figures = Figures(result);
        return ReportWriter.Write(folder, MarkdownFile, HtmlFile, Title(result), figures, image => Render(result, image, figures));
    }

    static string Title(DemoResult r) =>
        $"Lethe {(r.Origin is null ? "demo" : "report")}: forgetting {r.Forget} of {r.Members} members of a {MethodName(r.Recipe.Method)} encoder on {r.Dataset}";

    static string MethodName(string method) => Training.TrainingMethods.DisplayName(method);

    /// <summary>The report as Markdown; <paramref name="image"/> turns a figure's name into its link.</summary>
    public static string Render(DemoResult r, Func<string, string> image, IReadOnlyList<(string Name, string Caption, byte[] Png)> figures)
    {
        var before = r.Before.Report;
        var after = r.After.Report;
        var retrained = r.Retrained.Report;
        var t = r.Targets;
        var text = new StringBuilder();
        text.Append($"# {Title(r)}\n\n");
        var u = r.Settings.Unlearning;
        text.Append($"The encoder ({r.Recipe.Encoder.Architecture}, width {r.Recipe.Encoder.Width}) ")
            .Append(r.Origin?.Model ?? $"was pretrained with the `{r.Settings.Preset}` recipe on {r.Members} members ({r.Recipe.Epochs} epochs, seed {r.Recipe.Seed})")
            .Append($"; {r.Forget} of its {r.Members} members ({Num(100.0 * r.Forget / r.Members, 0)}%) were then forgotten with {Unlearning.UnlearningMethods.DisplayName(u.Method)} ")
            .Append($"(`{u.Method}`: alpha {Num(u.Alpha)}, beta {Num(u.Beta)}, lr {Num(u.LearningRate)}, at most {u.Epochs} epochs; ")
            .Append($"it stopped after {r.Unlearning.Epochs.Count}: {r.Unlearning.StopReason}). ")
            .Append(r.Origin?.Retrained ?? $"The retrained reference is the same recipe trained from scratch on the {before.Retain + before.CalibrationMembers} retained members only")
            .Append(": the model unlearning should imitate.\n\n");
        text.Append("The attacker is EncoderMI's threshold attack on the projection head's output, fitted on a calibration part of the retained members and non-members ")
            .Append($"({before.CalibrationMembers} and {before.CalibrationNonMembers}, never scored), and scored on the {before.Forget} forgotten members against {before.NonMembers} non-members. ")
            .Append("Accuracy and precision are taken at equal priors; with this few samples an AUC has a standard error of about ")
            .Append($"{Num(AucStandardError(before.Forget, before.NonMembers), 2)} (docs/membership-metrics.md).\n\n");

        text.Append("## Targets\n\n");
        text.Append(new MarkdownTable("target", "measured", "met")
            .Add("EncoderMI AUC before unlearning at least 0.75", Number(t.AucBefore), Mark(t.AucBeforeMet))
            .Add("forget-set AUC after unlearning between 0.45 and 0.55", Number(t.ForgetAucAfter), Mark(t.ForgetAucAfterMet))
            .Add("within 0.05 of the retrained model's forget-set AUC", $"{Number(t.ForgetAucAfter)} vs {Number(t.ForgetAucRetrained)}", Mark(t.CloseToRetrainedMet))
            .Add("kNN accuracy at most 10 points below before", $"{Percent(t.KnnBefore)} → {Percent(t.KnnAfter)}", Mark(t.KnnDropMet))
            .Add("retained members' AUC within 0.05 of the retrained model's", $"{Number(t.RetainAucAfter)} vs {Number(t.RetainAucRetrained)}", Mark(t.RetainedKeptMet))).Append('\n');

        text.Append("## Before and after unlearning (the paper's table II, with the retrained reference)\n\n");
        var forgetBefore = before.Head.ForgetEncoderMi.Threshold;
        var forgetAfter = after.Head.ForgetEncoderMi.Threshold;
        var forgetRetrained = retrained.Head.ForgetEncoderMi.Threshold;
        var main = new MarkdownTable("", Models[0], Models[1], Models[2])
            .Add("model accuracy (kNN)", Percent(before.KnnAccuracy), Percent(after.KnnAccuracy), Percent(retrained.KnnAccuracy));
        if (before.LinearProbeAccuracy is { } p0 && after.LinearProbeAccuracy is { } p1 && retrained.LinearProbeAccuracy is { } p2)
            main.Add("linear-probe accuracy", Percent(p0), Percent(p1), Percent(p2));
        main.Add("MIA accuracy (forget set)", Percent(forgetBefore.Accuracy), Percent(forgetAfter.Accuracy), Percent(forgetRetrained.Accuracy))
            .Add("MIA recall", Percent(forgetBefore.Recall), Percent(forgetAfter.Recall), Percent(forgetRetrained.Recall))
            .Add("MIA precision", Percent(forgetBefore.Precision), Percent(forgetAfter.Precision), Percent(forgetRetrained.Precision))
            .Add("MIA AUC", Number(forgetBefore.Auc), Number(forgetAfter.Auc), Number(forgetRetrained.Auc))
            .Add("TPR at 1% FPR", Percent(forgetBefore.TprAt1PercentFpr), Percent(forgetAfter.TprAt1PercentFpr), Percent(forgetRetrained.TprAt1PercentFpr))
            .Add("TPR at 0.1% FPR", Percent(forgetBefore.TprAt01PercentFpr), Percent(forgetAfter.TprAt01PercentFpr), Percent(forgetRetrained.TprAt01PercentFpr))
            .Add("MIA AUC on retained members", Number(before.Head.RetainEncoderMi.Threshold.Auc), Number(after.Head.RetainEncoderMi.Threshold.Auc), Number(retrained.Head.RetainEncoderMi.Threshold.Auc));
        text.Append(main).Append('\n');
        static string FalsePositives(int n) => n == 1 ? "1 false positive" : $"{n} false positives";
        text.Append($"With {before.NonMembers} non-members, an FPR of 1% admits {FalsePositives((int)Math.Floor(before.NonMembers * 0.01 + 1e-9))} and 0.1% admits {FalsePositives((int)Math.Floor(before.NonMembers * 0.001 + 1e-9))}")
            .Append(before.NonMembers < 1000 ? " (that column reads as \"TPR at zero false positives\").\n\n" : ".\n\n");

        text.Append("## Every attack (AUC, forget set vs non-members; retained members in brackets)\n\n");
        var attacks = new MarkdownTable("output", "attack", Models[0], Models[1], Models[2]);
        foreach (var output in new[] { "head", "backbone" })
        {
            var rows = new[] { before, after, retrained }.Select(a => AuditMarkdown.Attacks(a.Output(output), forget: true).Zip(AuditMarkdown.Attacks(a.Output(output), forget: false)).ToArray()).ToArray();
            for (var i = 0; i < rows[0].Length; i++)
                attacks.Add([output, rows[0][i].First.Attack, .. rows.Select(row => $"{Number(row[i].First.Metrics.Auc)} ({Number(row[i].Second.Metrics.Auc)})")]);
        }
        text.Append(attacks).Append('\n');

        text.Append("## Per-sample diagnostics (projection head, means)\n\n");
        var diagnostics = new MarkdownTable("group", "measure", Models[0], Models[1], Models[2]);
        var groups = before.Head.Diagnostics.Select(d => d.Group).ToArray();
        foreach (var group in groups)
        {
            GroupDiagnostics Of(EncoderAuditReport a) => a.Head.Diagnostics.First(d => d.Group == group);
            diagnostics.Add(group, "top-1 probability", Number(Of(before).Top1, 4), Number(Of(after).Top1, 4), Number(Of(retrained).Top1, 4));
            diagnostics.Add(group, "loss", Number(Of(before).Loss), Number(Of(after).Loss), Number(Of(retrained).Loss));
            diagnostics.Add(group, "cosine similarity of views", Number(Of(before).Similarity, 4), Number(Of(after).Similarity, 4), Number(Of(retrained).Similarity, 4));
        }
        text.Append(diagnostics).Append('\n');
        text.Append($"Top-1 probability reads the head's {r.Recipe.Encoder.HeadDim} outputs as class scores (the paper's \"encoder as a classifier\"); the loss is the contrastive loss of two views against the clean outputs of ")
            .Append($"{r.Settings.Audit.ReferenceSamples} unseen test images; the cosine similarity is the mean over the {r.Settings.Audit.Views * (r.Settings.Audit.Views - 1) / 2} pairs of {r.Settings.Audit.Views} augmented views.\n\n");

        text.Append("## Figures\n\n");
        foreach (var (name, caption, _) in figures) text.Append($"![{caption}]({image(name)})\n\n*{caption}*\n\n");

        text.Append("## Time\n\n");
        var time = new MarkdownTable("stage", "seconds", "note");
        foreach (var stage in r.Timings)
        {
            var notes = new List<string>();
            if (stage.WithEvaluations is { } total) notes.Add($"training steps; {Num(total, 1)} s with the periodic evaluations");
            if (stage.Cached) notes.Add("reused from an earlier run (the time it took then)");
            time.Add(stage.Stage, Num(stage.Seconds, 1), string.Join("; ", notes));
        }
        text.Append(time).Append('\n');
        var unlearn = r.Seconds("unlearn");
        var retrain = r.Seconds("retrain");
        if (retrain > 0)
            text.Append($"Unlearning took {Num(unlearn, 1)} s and retraining from scratch {Num(retrain, 1)} s of training steps: retraining costs {Num(retrain / Math.Max(unlearn, 1e-9), 0)} times as much.\n\n");

        text.Append("## Settings\n\n");
        text.Append(r.Origin is { } origin
            ? $"Every setting is in {origin.SettingsFile} beside this report: the run, the forget request and the retrained reference it compares. Audit seed {r.Settings.Seed}.\n"
            : $"Every setting is in demo-settings.json beside this report; the runs are in pretrain/, unlearn/ and retrain/. Seed {r.Settings.Seed}.\n");
        return text.ToString();
    }

    /// <summary>Hanley and McNeil's standard error of an AUC near one half.</summary>
    static double AucStandardError(int members, int nonMembers) => Math.Sqrt((members + nonMembers + 1) / (12.0 * members * nonMembers));

    static string Mark(bool met) => met ? "yes" : "**no**";

    static string Num(double value, int decimals = 4) => value.ToString(decimals == 4 ? "G4" : "F" + decimals, CultureInfo.InvariantCulture);

    /// <summary>The report's figures: name, caption and PNG bytes.</summary>
    public static IReadOnlyList<(string Name, string Caption, byte[] Png)> Figures(DemoResult r)
    {
        var audits = new[] { r.Before, r.After, r.Retrained };
        var similarities = audits.SelectMany(a => new[] { a.Forget, a.Retain, a.NonMembers }).SelectMany(s => s.Head.Similarity).ToArray();
        var range = (similarities.Min(), similarities.Max());
        var histograms = Plots.Grid([.. audits.Select((a, i) => Plots.Histogram(
            $"{Models[i]}: cosine similarity of views", "mean pairwise cosine similarity (head)",
            [Series.Values("forget", a.Forget.Head.Similarity), Series.Values("retain", a.Retain.Head.Similarity), Series.Values("non-members", a.NonMembers.Head.Similarity)],
            range: range))], 3);
        var roc = Plots.Roc("EncoderMI threshold attack, forget set",
            [.. audits.Select((a, i) => ($"{Models[i]} (AUC {Number(a.Report.Head.ForgetEncoderMi.Threshold.Auc)})", a.Report.Head.ForgetEncoderMi.Threshold.Roc))]);

        var space = new List<byte[]>();
        foreach (var (a, i) in audits.Select((a, i) => (a, i)))
        {
            var groups = new[] { ("forget", a.Forget.Head), ("retain", a.Retain.Head), ("non-members", a.NonMembers.Head) };
            space.Add(Plots.Scatter($"{Models[i]}", "cosine similarity", "loss", [.. groups.Select(g => new Series(g.Item1, g.Item2.Similarity, g.Item2.Prediction.Loss))]));
            space.Add(Plots.Scatter($"{Models[i]}", "top-1 probability", "loss", [.. groups.Select(g => new Series(g.Item1, g.Item2.Prediction.Top1, g.Item2.Prediction.Loss))]));
            space.Add(Plots.Scatter($"{Models[i]}", "cosine similarity", "top-1 probability", [.. groups.Select(g => new Series(g.Item1, g.Item2.Similarity, g.Item2.Prediction.Top1))]));
        }

        const int TsneNonMembers = 256;
        var tsne = new List<byte[]>();
        foreach (var (a, i) in audits.Select((a, i) => (a, i)))
        {
            // t-SNE is quadratic in its points: at most TsneNonMembers of the (thousands of) scored non-members, the same ones for every model.
            var nonMembers = a.NonMembers.Head.Embedding.Take(TsneNonMembers).ToArray();
            var points = a.Forget.Head.Embedding.Concat(a.Retain.Head.Embedding).Concat(nonMembers).ToArray();
            var embedding = Tsne.Embed(points, new TsneSettings { Seed = r.Settings.Seed });
            var counts = new[] { a.Forget.Ids.Length, a.Retain.Ids.Length, nonMembers.Length };
            var labels = new[] { "forget", "retain", "non-members" };
            var offset = 0;
            var series = new List<Series>();
            for (var g = 0; g < 3; g++)
            {
                var part = embedding.Skip(offset).Take(counts[g]).ToArray();
                series.Add(new Series(labels[g], [.. part.Select(p => p[0])], [.. part.Select(p => p[1])]));
                offset += counts[g];
            }
            tsne.Add(Plots.Scatter($"{Models[i]}: t-SNE of head outputs", "t-SNE 1", "t-SNE 2", series));
        }

        return
        [
            ("similarity-histograms", "Cosine similarity of each image's augmented views (head output): forgotten, retained and non-members, before unlearning, after, and in the retrained model. Unlearning should move the forget set onto the non-members.", histograms),
            ("roc", "ROC curves of the EncoderMI threshold attack on the forget set.", roc),
            ("feature-space", "The (top-1 probability, cosine similarity, loss) feature space in its three 2-D projections; rows: before, after unlearning, retrained.", Plots.Grid(space, 3)),
            ("tsne", "t-SNE of the head's outputs on clean images, coloured by forgotten, retained and non-member.", Plots.Grid(tsne, 3)),
        ];
    }
}
