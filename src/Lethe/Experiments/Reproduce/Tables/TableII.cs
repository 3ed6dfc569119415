using static Lethe.Experiments.TableFormat;

namespace Lethe.Experiments;

/// <summary>The paper's table II: one encoder per data set before and after MemGP, with the retrained reference.</summary>
static class TableII
{
    public static IEnumerable<ResultTable> Build(ReproduceSettings settings, Scenarios s)
    {
        var method = settings.MainMethod;
        var fp = FalsePositives(settings, method, settings.MainDataset);
        var table = new ResultTable("table-ii", "Table II: before and after unlearning, per data set",
            $"{Name(method)} encoders; the forget set is {Percent(Scenarios.BaseFraction)} of the members; MemGP with the tuned defaults. {SeedCaption(settings.SeedValues)} " +
            $"MIA: the EncoderMI threshold attack on the projection head's output, forget set against {fp.NonMembers} non-members. Model accuracy: kNN on the retained members. " +
            "Retained AUC: the same attack on the retained members. Matches retraining: seeds on which no test of the verdict rejects (docs/membership-metrics.md).",
            ["data set", "model", "model acc", "linear probe", "MIA acc", "MIA recall", "MIA precision", "MIA AUC", $"TPR at 1% FPR (≤{fp.At1} FP)", "retained AUC", "matches retraining"]);
        foreach (var dataset in settings.DatasetNames)
        {
            var rows = new (string, Measurement[])[]
            {
                ("before", s.Seeds(seed => s.Original(method, dataset, seed))),
                ("after unlearning", s.Seeds(seed => s.Unlearned(method, dataset, seed, settings.Unlearning("memgp", false, seed)))),
                ("retrained", s.Seeds(seed => s.Retrained(method, dataset, seed))),
            };
            var retrained = rows[^1].Item2;
            foreach (var (model, m) in rows)
                table.Add(TableValue.Text(dataset), TableValue.Text(model), Pct(m, x => x.Utility), Pct(m, x => x.LinearProbe),
                    Pct(m, x => x.Forget.Accuracy), Pct(m, x => x.Forget.Recall), Pct(m, x => x.Forget.Precision), Num(m, x => x.Forget.Auc), Pct(m, x => x.Forget.TprAt1PercentFpr),
                    Num(m, x => x.RetainAuc), Matches(m, retrained));
        }
        yield return table;
    }
}
