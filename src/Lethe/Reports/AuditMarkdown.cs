using System.Text;
using Lethe.Audits;
using static Lethe.Reports.MarkdownTable;

namespace Lethe.Reports;

/// <summary>Renders an encoder audit as Markdown (what `lethe audit` writes as audit.md).</summary>
public static class AuditMarkdown
{
    public static string Render(EncoderAuditReport report)
    {
        var text = new StringBuilder();
        text.Append($"# Audit of {report.Model}\n\n");
        text.Append($"Attacks fitted on {(report.Attacker == "shadow" ? "a shadow encoder's" : "a calibration part of the target's")} known members ({report.CalibrationMembers}) and non-members ({report.CalibrationNonMembers}); ")
            .Append($"scored on {report.Forget} forgotten and {report.Retain} retained members against {report.NonMembers} non-members, ")
            .Append($"{report.Settings.Views} views per image. Accuracy and precision are at equal priors (docs/membership-metrics.md).\n\n");
        text.Append("## Forget set vs non-members\n\n").Append(AttackTable(report, forget: true)).Append('\n');
        text.Append("## Retained members vs non-members\n\n").Append(AttackTable(report, forget: false)).Append('\n');
        text.Append("## Per-sample diagnostics (means)\n\n").Append(DiagnosticsTable(report)).Append('\n');
        text.Append("## Utility\n\n");
        text.Append($"- kNN accuracy (k-nearest retained members, whole test split): {Percent(report.KnnAccuracy)}\n");
        if (report.LinearProbeAccuracy is { } probe) text.Append($"- linear-probe accuracy (trained on retained members): {Percent(probe)}\n");
        text.Append($"\nThe audit took {report.Seconds:F1} s.\n");
        return text.ToString();
    }

    /// <summary>Every attack on both outputs, one row each.</summary>
    public static MarkdownTable AttackTable(EncoderAuditReport report, bool forget)
    {
        var table = new MarkdownTable("output", "attack", "AUC", "accuracy", "precision", "recall", "TPR at 1% FPR", "TPR at 0.1% FPR");
        foreach (var output in new[] { report.Head, report.Backbone })
        {
            foreach (var (attack, metrics) in Attacks(output, forget))
            {
                table.Add(output.Output, attack, Number(metrics.Auc), Percent(metrics.Accuracy), Percent(metrics.Precision), Percent(metrics.Recall),
                    Percent(metrics.TprAt1PercentFpr), Percent(metrics.TprAt01PercentFpr));
            }
        }
        return table;
    }

    public static IEnumerable<(string Attack, AttackMetrics Metrics)> Attacks(OutputAudit output, bool forget) => forget
        ? MembershipAttacks.Results(output.ForgetEncoderMi, output.ForgetSupervised)
        : MembershipAttacks.Results(output.RetainEncoderMi, output.RetainSupervised);

    public static MarkdownTable DiagnosticsTable(EncoderAuditReport report)
    {
        var table = new MarkdownTable("output", "group", "samples", "top-1 prob.", "top-3 prob.", "entropy", "loss", "cosine similarity");
        foreach (var output in new[] { report.Head, report.Backbone })
        {
            foreach (var g in output.Diagnostics)
                table.Add(output.Output, g.Group, g.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), Number(g.Top1, 4), Number(g.Top3, 4), Number(g.Entropy), Number(g.Loss), Number(g.Similarity, 4));
        }
        return table;
    }

    /// <summary>A classifier's audit as Markdown.</summary>
    public static string Render(ClassifierAuditReport report)
    {
        var text = new StringBuilder();
        text.Append($"# Audit of {report.Model}\n\n");
        text.Append($"Supervised attacks fitted on {(report.Attacker == "shadow" ? "a shadow classifier's" : "a calibration part of the target's")} known members ({report.CalibrationMembers}) and non-members ({report.CalibrationNonMembers}); ")
            .Append($"scored on {report.Forget} forgotten and {report.Retain} retained members against {report.NonMembers} non-members. Accuracy and precision are at equal priors (docs/membership-metrics.md).\n\n");
        var table = new MarkdownTable("scored", "attack", "AUC", "accuracy", "precision", "recall", "TPR at 1% FPR", "TPR at 0.1% FPR");
        foreach (var (scored, result) in new[] { ("forget", report.ForgetAttacks), ("retain", report.RetainAttacks) })
        {
            foreach (var (attack, m) in MembershipAttacks.Results(null, result))
                table.Add(scored, attack, Number(m.Auc), Percent(m.Accuracy), Percent(m.Precision), Percent(m.Recall), Percent(m.TprAt1PercentFpr), Percent(m.TprAt01PercentFpr));
        }
        text.Append("## Membership inference\n\n").Append(table).Append('\n');
        var diagnostics = new MarkdownTable("group", "samples", "accuracy", "top-1 prob.", "top-3 prob.", "entropy", "loss");
        foreach (var g in report.Diagnostics)
            diagnostics.Add(g.Group, g.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), Percent(g.Accuracy), Number(g.Top1, 4), Number(g.Top3, 4), Number(g.Entropy), Number(g.Loss));
        text.Append("## Per-sample diagnostics (means)\n\n").Append(diagnostics).Append('\n');
        text.Append($"## Utility\n\n- test accuracy (whole test split): {Percent(report.TestAccuracy)}\n\nThe audit took {report.Seconds:F1} s.\n");
        return text.ToString();
    }
}
