using static Lethe.Experiments.TableFormat;

namespace Lethe.Experiments;

/// <summary>The paper's table VII: supervised classifiers before, after MemGP and retrained.</summary>
static class TableVII
{
    public static IEnumerable<ResultTable> Build(ReproduceSettings settings, Scenarios s)
    {
        const string model = ReproduceSettings.ClassifierModel;
        var fp = FalsePositives(settings, model, settings.MainDataset);
        var table = new ResultTable("table-vii", "Table VII: supervised classifiers, before, after unlearning and retrained",
            $"Classifiers trained on the members; MemGP with the tuned classifier defaults. {SeedCaption(settings.SeedValues)} MIA: the confidence (top-1 probability) threshold attack, " +
            $"forget set against {fp.NonMembers} non-members. Top-1: mean top-1 probability of the forget set and of the non-members. Retained AUC and matches retraining as in table II.",
            ["data set", "model", "test acc", "MIA acc", "AUC", $"TPR at 1% FPR (≤{fp.At1} FP)", "forget top-1", "non-member top-1", "retained AUC", "matches retraining"]);
        foreach (var dataset in settings.DatasetNames)
        {
            var rows = new (string, Measurement[])[]
            {
                ("before", s.Seeds(seed => s.Original(model, dataset, seed))),
                ("after unlearning", s.Seeds(seed => s.Unlearned(model, dataset, seed, settings.Unlearning("memgp", true, seed)))),
                ("retrained", s.Seeds(seed => s.Retrained(model, dataset, seed))),
            };
            var retrained = rows[^1].Item2;
            foreach (var (name, m) in rows)
                table.Add(TableValue.Text(dataset), TableValue.Text(name), Pct(m, x => x.Utility), Pct(m, x => x.Forget.Accuracy), Num(m, x => x.Forget.Auc),
                    Pct(m, x => x.Forget.TprAt1PercentFpr), Num(m, x => x.ForgetTop1), Num(m, x => x.NonMemberTop1), Num(m, x => x.RetainAuc), Matches(m, retrained));
        }
        yield return table;
    }
}
