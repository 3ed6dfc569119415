using System.Globalization;
using Lethe.Audits;
using static Lethe.Experiments.TableFormat;

namespace Lethe.Experiments;

/// <summary>
/// Targeted unlearning against its targets (docs/targeted-unlearning.md), on every model kind: SimCLR, MoCo, BYOL and
/// the classifier, each next to the retrained model and the paper's MemGP, and after three deletion requests in a row.
/// </summary>
static class TargetedTable
{
    /// <summary>Deletion requests of the continual rows: the forget set in three parts.</summary>
    public const int Requests = 3;

    public static IEnumerable<ResultTable> Build(ReproduceSettings settings, Scenarios s)
    {
        var dataset = settings.MainDataset;
        var table = new ResultTable("targeted", "Targeted unlearning against retraining, on every model kind",
            $"{dataset}, forget set {Percent(Scenarios.BaseFraction)} of the members. {SeedCaption(settings.SeedValues)} Attack: EncoderMI's threshold attack on the head (encoders), " +
            "the confidence threshold attack (classifier). Targets: forget AUC and TPR at 1% FPR inside the retrained model's 95% interval (over seeds; with one seed, the " +
            "retrained model's own AUC interval and the Wilson interval of its TPR); retained AUC within 0.05 and utility within 1.5 points of the retrained model's; " +
            $"at most a hundredth of retraining's time; the verdict \"matches retraining\" on every seed. \"{Requests} requests\": the forget set deleted in {Requests} requests " +
            "one after the other on the same model, judged against the model retrained without all of them.",
            ["model", "method", "forget AUC", "TPR at 1% FPR", "retained AUC", "utility", "matches retraining", "seconds", "speed-up over retraining", "targets missed"]);
        foreach (var (model, classifier) in ReproduceSettings.ContrastiveMethods.Select(m => (m, false)).Append((ReproduceSettings.ClassifierModel, true)))
        {
            var retrained = s.Seeds(seed => s.Retrained(model, dataset, seed));
            table.Add(Row(model, "retrained (exact)", retrained, retrained));
            table.Add(Row(model, "MemGP (paper)", s.Seeds(seed => s.Unlearned(model, dataset, seed, settings.Unlearning("memgp", classifier, seed))), retrained));
            table.Add(Row(model, "Targeted (Lethe)", s.Seeds(seed => s.Unlearned(model, dataset, seed, settings.Unlearning("targeted", classifier, seed))), retrained));
            // How requests follow one another, chosen per model kind on the tuning seed (docs/targeted-unlearning.md): on encoders every
            // request re-checks the earlier requests' samples and anchors to the model before the first request; on classifiers neither helped.
            var (recheck, firstAnchor) = classifier ? (false, false) : (true, true);
            table.Add(Row(model, $"Targeted, {Requests} requests", s.Seeds(seed => s.Continual(model, dataset, seed, settings.Unlearning("targeted", classifier, seed), Requests, recheck, firstAnchor)), retrained));
        }
        yield return table;
    }

    static TableValue[] Row(string model, string label, Measurement[] m, Measurement[] retrained)
    {
        var versus = m.Zip(retrained, Versus).ToArray();
        var exact = ReferenceEquals(m, retrained);
        return
        [
            TableValue.Text(Name(model)), TableValue.Text(label),
            Num(m, x => x.Forget.Auc), Pct(m, x => x.Forget.TprAt1PercentFpr), Num(m, x => x.RetainAuc), Pct(m, x => x.Utility),
            TableValue.Text($"{versus.Count(v => v.Matches)}/{versus.Length}"),
            TableValue.Numbers(m.All(x => x.Seconds is not null) ? [.. m.Select(x => x.Seconds!.Value)] : null, "seconds"),
            TableValue.Numbers(!exact && m.All(x => x.Seconds is not null) ? [.. m.Zip(retrained, (a, r) => r.Seconds!.Value / Math.Max(1e-9, a.Seconds!.Value))] : null, "ratio"),
            TableValue.Text(exact ? "–" : Missed(m, retrained, versus)),
        ];
    }

    /// <summary>The targets this row misses, by name ("none" when it meets them all).</summary>
    public static string Missed(Measurement[] m, Measurement[] retrained, RetrainingComparison[] versus)
    {
        var missed = new List<string>();
        var (aucLow, aucHigh) = Interval(retrained.Select(r => r.Forget.Auc).ToArray(), () =>
        {
            var scores = Scores(retrained[0])[RetrainingComparison.DefaultVerdictAttacks(Scores(retrained[0]))[0]];
            var e = AucInterval.Of(scores.Forget, scores.NonMembers);
            return (e.Low, e.High);
        });
        var forgetAuc = m.Average(x => x.Forget.Auc);
        if (forgetAuc < aucLow || forgetAuc > aucHigh) missed.Add(string.Create(CultureInfo.InvariantCulture, $"forget AUC (retrained {aucLow:F3}–{aucHigh:F3})"));
        var (tprLow, tprHigh) = Interval(retrained.Select(r => r.Forget.TprAt1PercentFpr).ToArray(), () => Wilson(retrained[0].Forget.TprAt1PercentFpr, retrained[0].Forget.Members));
        var tpr = m.Average(x => x.Forget.TprAt1PercentFpr);
        if (tpr < tprLow - 1e-12 || tpr > tprHigh + 1e-12) missed.Add(string.Create(CultureInfo.InvariantCulture, $"TPR at 1% FPR (retrained {tprLow * 100:F1}%–{tprHigh * 100:F1}%)"));
        var retainGap = m.Average(x => x.RetainAuc) - retrained.Average(x => x.RetainAuc);
        if (Math.Abs(retainGap) > 0.05) missed.Add(string.Create(CultureInfo.InvariantCulture, $"retained AUC ({retainGap:+0.000;-0.000})"));
        var utilityGap = m.Average(x => x.Utility) - retrained.Average(x => x.Utility);
        if (Math.Abs(utilityGap) > 0.015) missed.Add(string.Create(CultureInfo.InvariantCulture, $"utility ({utilityGap * 100:+0.0;-0.0} points)"));
        if (m.Any(x => x.Seconds is null) || m.Zip(retrained).Any(p => p.First.Seconds > p.Second.Seconds / 100))
            missed.Add(string.Create(CultureInfo.InvariantCulture, $"time ({m.Zip(retrained).Min(p => p.Second.Seconds / p.First.Seconds) ?? 0:F0}× faster at worst)"));
        if (versus.Any(v => !v.Matches)) missed.Add($"verdict ({versus.Count(v => v.Matches)}/{versus.Length})");
        return missed.Count == 0 ? "none" : string.Join("; ", missed);
    }

    /// <summary>The 95% interval of the mean over seeds, or with one seed the fallback's.</summary>
    static (double Low, double High) Interval(double[] values, Func<(double, double)> oneSeed) =>
        MeanInterval.HalfWidth(values) is { } h ? (values.Average() - h, values.Average() + h) : oneSeed();

    /// <summary>Wilson's 95% interval of a proportion <paramref name="p"/> of <paramref name="n"/>.</summary>
    public static (double Low, double High) Wilson(double p, int n)
    {
        const double z = 1.959963984540054;
        var centre = (p + z * z / (2 * n)) / (1 + z * z / n);
        var half = z * Math.Sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / (1 + z * z / n);
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
