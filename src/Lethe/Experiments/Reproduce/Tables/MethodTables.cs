using Lethe.Audits;
using Lethe.Unlearning;
using static Lethe.Experiments.TableFormat;

namespace Lethe.Experiments;

/// <summary>
/// Every registered unlearning method side by side on one encoder and on one classifier, each judged against the model
/// retrained without the forget set: group by group, inside the model, by an attacker holding both models, and on
/// utility. An appendix table per model kind gives every attack.
/// </summary>
static class MethodTables
{
    public static IEnumerable<ResultTable> Build(ReproduceSettings settings, Scenarios s)
    {
        var (dataset, method) = (settings.MainDataset, settings.MainMethod);
        var fp = FalsePositives(settings, method, dataset);
        var encoder = new ResultTable("methods-encoder", "Every unlearning method on one encoder",
            $"The {Name(method)} encoder of {dataset}, forget set {Percent(Scenarios.BaseFraction)} of the members. {SeedCaption(settings.SeedValues)} " +
            $"Attack: EncoderMI's threshold attack on the head; forget and retained AUC are against {fp.NonMembers} non-members. {ComparisonCaption} Utility: kNN accuracy. " +
            "Seconds: training steps only (evaluations excluded), for the unlearning run or the retraining.", Columns(fp));
        var (encoderRows, encoderAttacks) = Compare(method, dataset, classifier: false, settings, s);
        foreach (var row in encoderRows) encoder.Add(row);
        yield return encoder;

        const string model = ReproduceSettings.ClassifierModel;
        fp = FalsePositives(settings, model, dataset);
        var classifier = new ResultTable("methods-classifier", "Every unlearning method on one classifier",
            $"The classifier of {dataset}, the same forget-set share and seeds. Attack: the confidence threshold attack, against {fp.NonMembers} non-members. " +
            $"Utility: test accuracy. SISA: {settings.SisaShards} shards trained on the members, then the forget set deleted by retraining the shards that held it " +
            "(its two-model attack compares SISA before and after the deletion).", Columns(fp));
        var (classifierRows, classifierAttacks) = Compare(model, dataset, classifier: true, settings, s, retrained =>
        {
            var sisa = settings.SeedValues.Select(seed => s.Sisa(dataset, seed)).ToArray();
            Measurement[] before = [.. sisa.Select(p => p.Before)], after = [.. sisa.Select(p => p.After)];
            return [("SISA, before deletion", before, null, false), ("SISA (exact)", after, before, true)];
        });
        foreach (var row in classifierRows) classifier.Add(row);
        yield return classifier;

        yield return AttackTable("methods-encoder-attacks", $"Appendix: every attack on the {Name(method)} encoder", encoderAttacks, settings);
        yield return AttackTable("methods-classifier-attacks", "Appendix: every attack on the classifier", classifierAttacks, settings);
    }

    const string ComparisonCaption =
        "KS: the two-sample Kolmogorov–Smirnov statistic between this model's and the retrained model's scores of the same samples (0 = same distribution); " +
        "calibrated: each score first replaced by its percentile among the same model's scored non-members, which two exact retrainings agree on and raw scores do not; " +
        "raw KS of the non-members shows whether the model's scale of scores moved. " +
        "Retained-over-forgotten AUC: inside the model, how well the scores rank retained members above forgotten ones (the retrained model's figure is what to match; " +
        "a flattened model sits at 0.5). Two-model AUC: an attacker holding the original and this model ranks forgotten above retained members by the drop in score " +
        "(Chen et al.); retraining's figure is what any deletion gives away and the one to match (below it, the method moved retained members too). Matches retraining: seeds on which no test of the verdict rejects " +
        "(docs/membership-metrics.md); \"retrained again\" is a second exact retraining, the yardstick of that verdict.";

    static string[] Columns((int NonMembers, int At1, int At01) fp) =>
    [
        "method", "forget AUC", $"TPR at 1% FPR (≤{fp.At1} FP)", "retained AUC", "calibrated KS forget", "calibrated KS retained", "raw KS non-members",
        "retained-over-forgotten AUC", "two-model AUC", "matches retraining", "utility", "utility gap", "seconds", "speed-up over retraining",
    ];

    /// <summary>One measured model per seed, labelled, with the model it replaced (for the two-model attack) and whether a deletion produced it.</summary>
    sealed record Compared(string Label, Measurement[] Models, Measurement[]? Before, bool Deletion);

    /// <summary>Original, retrained and retrained-again rows, then <paramref name="extra"/> rows, then one row per registered method of the model's kind.</summary>
    static (List<TableValue[]> Rows, List<Compared> Models) Compare(string model, string dataset, bool classifier, ReproduceSettings settings, Scenarios s,
        Func<Measurement[], IEnumerable<(string Label, Measurement[] Models, Measurement[]? Before, bool Deletion)>>? extra = null)
    {
        var retrained = s.Seeds(seed => s.Retrained(model, dataset, seed));
        var original = s.Seeds(seed => s.Original(model, dataset, seed));
        var compared = new List<Compared>
        {
            new("original", original, null, false),
            new("retrained (exact)", retrained, original, true),
            new("retrained again (exact)", s.Seeds(seed => s.RetrainedAgain(model, dataset, seed)), original, true),
        };
        foreach (var (label, models, before, deletion) in extra?.Invoke(retrained) ?? []) compared.Add(new(label, models, before, deletion));
        foreach (var m in UnlearningMethods.For(classifier))
            compared.Add(new(UnlearningMethods.DisplayName(m), s.Seeds(seed => s.Unlearned(model, dataset, seed, settings.Unlearning(m, classifier, seed))), original, true));
        return ([.. compared.Select(c => Row(c, retrained))], compared);
    }

    static TableValue[] Row(Compared c, Measurement[] retrained)
    {
        var m = c.Models;
        var attack = RetrainingComparison.DefaultVerdictAttacks(Scores(m[0]))[0];
        var versus = m.Zip(retrained, Versus).ToArray();
        var timed = c.Deletion && m.All(x => x.Seconds is not null);
        return
        [
            TableValue.Text(c.Label),
            Num(m, x => x.Forget.Auc),
            Pct(m, x => x.Forget.TprAt1PercentFpr),
            Num(m, x => x.RetainAuc),
            Values(versus, v => v[attack].CalibratedForget.Statistic),
            Values(versus, v => v[attack].CalibratedRetain.Statistic),
            Values(versus, v => v[attack].NonMember.Statistic),
            Values(versus, v => v[attack].RetainedOverForgotten.Auc),
            c.Before is { } before ? Values(m.Zip(before).ToArray(), p => TwoModelAttack.Auc(Scores(p.Second), Scores(p.First), attack).Auc) : TableValue.Text("–"),
            TableValue.Text($"{versus.Count(v => v.Matches)}/{versus.Length}"),
            Pct(m, x => x.Utility),
            TableValue.Numbers([.. m.Zip(retrained, (a, r) => a.Utility - r.Utility)], "signed-percent"),
            TableValue.Numbers(timed ? [.. m.Select(x => x.Seconds!.Value)] : null, "seconds"),
            TableValue.Numbers(timed ? [.. m.Zip(retrained, (a, r) => r.Seconds!.Value / Math.Max(1e-9, a.Seconds!.Value))] : null, "ratio"),
        ];
    }

    /// <summary>Every attack of every compared model: its AUCs and low-FPR TPRs, its distance to the retrained model, and the two-model attack.</summary>
    static ResultTable AttackTable(string id, string title, List<Compared> compared, ReproduceSettings settings)
    {
        var retrained = compared.First(c => c.Label == "retrained (exact)").Models;
        var table = new ResultTable(id, title,
            $"Every attack the audit runs, for every model of the method table above. {SeedCaption(settings.SeedValues)} AUCs and TPRs are against the scored non-members; " +
            "KS and two-model AUC as in the method table.",
            ["method", "attack", "forget AUC", "retained AUC", "TPR at 1% FPR", "TPR at 0.1% FPR", "calibrated KS forget", "calibrated KS retained", "raw KS forget", "raw KS retained", "raw KS non-members", "two-model AUC"]);
        foreach (var c in compared)
        {
            foreach (var attack in Scores(c.Models[0]).Attacks.Select(a => a.Attack))
            {
                AttackScores[] a = [.. c.Models.Select(x => Scores(x)[attack])];
                var versus = c.Models.Zip(retrained, (x, r) => Versus(x, r)[attack]).ToArray();
                table.Add(
                    TableValue.Text(c.Label), TableValue.Text(attack),
                    Values(a, x => RocAuc.Compute(x.Forget, x.NonMembers)),
                    Values(a, x => RocAuc.Compute(x.Retain, x.NonMembers)),
                    Values(a, x => MembershipMetrics.TprAtFpr(MembershipMetrics.Roc(x.Forget, x.NonMembers), 0.01), "percent"),
                    Values(a, x => MembershipMetrics.TprAtFpr(MembershipMetrics.Roc(x.Forget, x.NonMembers), 0.001), "percent"),
                    Values(versus, v => v.CalibratedForget.Statistic),
                    Values(versus, v => v.CalibratedRetain.Statistic),
                    Values(versus, v => v.Forget.Statistic),
                    Values(versus, v => v.Retain.Statistic),
                    Values(versus, v => v.NonMember.Statistic),
                    c.Before is { } before ? Values(c.Models.Zip(before).ToArray(), p => TwoModelAttack.Auc(Scores(p.Second), Scores(p.First), attack).Auc) : TableValue.Text("–"));
            }
        }
        return table;
    }
}
