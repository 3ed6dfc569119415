using Lethe.Unlearning;
using static Lethe.Experiments.TableFormat;

namespace Lethe.Experiments;

/// <summary>Every registered unlearning method side by side on one encoder and on one classifier, against retraining.</summary>
static class MethodTables
{
    static readonly string[] Columns = ["method", "forget AUC", "gap to retrained", "TPR at 1% FPR", "retained AUC", "utility", "utility gap", "seconds", "speed-up over retraining"];

    public static IEnumerable<ResultTable> Build(ReproduceSettings settings, Scenarios s)
    {
        var (dataset, method) = (settings.MainDataset, settings.MainMethod);
        var encoder = new ResultTable("methods-encoder", "Every unlearning method on one encoder",
            $"The {Name(method)} encoder of {dataset}, forget set {Percent(Scenarios.BaseFraction)} of the members. Forget and retained AUC: EncoderMI threshold attack on the head " +
            "(the retrained model's retained AUC is what an unlearned model should keep). Utility: kNN accuracy. Gaps are method minus retrained, per seed. " +
            "Seconds: training steps only (evaluations excluded), for the unlearning run or the retraining.", Columns);
        Compare(encoder, method, dataset, classifier: false, settings, s);
        yield return encoder;

        const string model = ReproduceSettings.ClassifierModel;
        var classifier = new ResultTable("methods-classifier", "Every unlearning method on one classifier",
            $"The classifier of {dataset}, the same forget-set share. Forget and retained AUC: the confidence threshold attack. Utility: test accuracy. " +
            $"SISA: {settings.SisaShards} shards trained on the members, then the forget set deleted by retraining the shards that held it.", Columns);
        Compare(classifier, model, dataset, classifier: true, settings, s, retrained =>
        {
            var sisa = settings.SeedValues.Select(seed => s.Sisa(dataset, seed)).ToArray();
            return
            [
                Row("SISA, before deletion", [.. sisa.Select(p => p.Before)], retrained, unlearningTime: false),
                Row("SISA (exact)", [.. sisa.Select(p => p.After)], retrained),
            ];
        });
        yield return classifier;
    }

    /// <summary>Original and retrained rows, then <paramref name="extra"/> rows, then one row per registered method of the model's kind.</summary>
    static void Compare(ResultTable table, string model, string dataset, bool classifier, ReproduceSettings settings, Scenarios s,
        Func<Measurement[], IEnumerable<TableValue[]>>? extra = null)
    {
        var retrained = s.Seeds(seed => s.Retrained(model, dataset, seed));
        table.Add(Row("original", s.Seeds(seed => s.Original(model, dataset, seed)), retrained));
        table.Add(Row("retrained (exact)", retrained, retrained));
        foreach (var row in extra?.Invoke(retrained) ?? []) table.Add(row);
        foreach (var m in UnlearningMethods.For(classifier))
            table.Add(Row(UnlearningMethods.DisplayName(m), s.Seeds(seed => s.Unlearned(model, dataset, seed, settings.Unlearning(m, classifier, seed))), retrained));
    }

    /// <param name="unlearningTime">False for a model that no deletion produced (SISA before deletion): no time is shown.</param>
    static TableValue[] Row(string label, Measurement[] m, Measurement[] retrained, bool unlearningTime = true) =>
    [
        TableValue.Text(label),
        Num(m, x => x.Forget.Auc),
        TableValue.Numbers([.. m.Zip(retrained, (a, r) => a.Forget.Auc - r.Forget.Auc)], "signed"),
        Pct(m, x => x.Forget.TprAt1PercentFpr),
        Num(m, x => x.RetainAuc),
        Pct(m, x => x.Utility),
        TableValue.Numbers([.. m.Zip(retrained, (a, r) => a.Utility - r.Utility)], "signed-percent"),
        TableValue.Numbers(!unlearningTime || m.Any(x => x.Seconds is null) ? null : [.. m.Select(x => x.Seconds!.Value)], "seconds"),
        TableValue.Numbers(!unlearningTime || m.Any(x => x.Seconds is null) ? null : [.. m.Zip(retrained, (a, r) => r.Seconds!.Value / Math.Max(1e-9, a.Seconds!.Value))], "ratio"),
    ];
}
