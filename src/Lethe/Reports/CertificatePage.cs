using System.Text;
using Lethe.Requests;
using Lethe.Unlearning;
using static Lethe.Reports.MarkdownTable;

namespace Lethe.Reports;

/// <summary>A certificate as a page for people (certificates/rNNNN.md and .html): the same facts as its JSON.</summary>
public static class CertificatePage
{
    public static string Markdown(Certificate c)
    {
        var text = new StringBuilder();
        text.Append($"# Lethe certificate: deletion request {c.Request}\n\n");
        text.Append($"**Verdict: {c.Verdict}.**\n\n");
        var facts = new MarkdownTable("", "");
        facts.Add("request", c.Request.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (c.Reference is not null) facts.Add("reference", c.Reference);
        facts.Add("received", c.Received.ToString("u", System.Globalization.CultureInfo.InvariantCulture))
            .Add("processed", c.Processed.ToString("u", System.Globalization.CultureInfo.InvariantCulture))
            .Add("samples", $"{c.Samples}: {c.Forgotten} forgotten now, {c.AlreadyForgotten} forgotten by an earlier request")
            .Add("model before", $"version {c.ParentVersion.Id} ({c.ParentVersion.File}, SHA-256 {c.ParentVersion.Sha256})")
            .Add("model after", c.NewVersion is { } v ? $"version {v.Id} ({v.File}, SHA-256 {v.Sha256})" : "unchanged: nothing left to forget")
            .Add("method", $"{UnlearningMethods.DisplayName(c.Settings.Method)} ({c.Settings.Method}), seed {c.Settings.Seed}")
            .Add("tools", $"Lethe {c.Tools.Lethe}, TorchSharp {c.Tools.TorchSharp}, {c.Tools.Runtime}")
            .Add("policy", $"SHA-256 {c.PolicySha256}")
            .Add("previous certificate", c.Previous is { } p ? $"request {p.Request}, SHA-256 {p.Sha256}" : "none: the first of this store");
        if (c.Unlearning is { } u) facts.Add("unlearning", $"{u.Epochs} epochs, {u.Seconds:F1} s: {u.StopReason}");
        text.Append(facts).Append('\n');

        if (c.Audit is { } a)
        {
            text.Append("## Audit of the new version\n\n");
            text.Append($"Each attack scores the {a.Forgotten} samples forgotten now and {a.Retained} retained members against {a.NonMembers} unseen ")
                .Append("non-members; an AUC of 0.5 is chance. The interval is the 95% confidence interval of the AUC on the forgotten samples: ")
                .Append("with few samples it is wide, and a point estimate under the threshold is weak evidence.\n\n");
            var attacks = new MarkdownTable("attack", "forgotten AUC", "95% CI", "retained AUC");
            foreach (var f in a.Attacks)
                attacks.Add(f.Attack == a.Headline ? $"**{f.Attack}** (headline)" : f.Attack, Number(f.ForgetAuc), $"{Number(f.ForgetLow)} – {Number(f.ForgetHigh)}", Number(f.RetainedAuc));
            text.Append(attacks).Append('\n');
            var utility = new MarkdownTable("utility", "this version", "version 0");
            foreach (var f in a.Utility) utility.Add(f.Measure, Percent(f.Value), Percent(f.First));
            text.Append(utility).Append('\n');
            var checks = new MarkdownTable("policy check", "met");
            foreach (var check in c.Checks) checks.Add(check.Check, check.Met ? "yes" : "**no**");
            text.Append(checks).Append('\n');
        }

        text.Append("## Settings\n\n");
        var settings = new MarkdownTable("setting", "value");
        foreach (var property in typeof(UnlearningSettings).GetProperties())
            settings.Add(property.Name, Convert.ToString(property.GetValue(c.Settings), System.Globalization.CultureInfo.InvariantCulture) ?? "");
        text.Append(settings).Append('\n');

        text.Append("## Samples\n\n");
        text.Append($"Each sample by its {c.SampleHashAlgorithm}; the ids themselves are not kept.\n\n");
        var samples = new MarkdownTable("hash", "status");
        foreach (var s in c.SampleHashes) samples.Add($"`{s.Hash}`", s.ForgottenBy is { } by ? $"{s.Status} (request {by})" : s.Status);
        text.Append(samples);
        return text.ToString();
    }
}
