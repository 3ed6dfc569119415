using static Lethe.Experiments.TableFormat;

namespace Lethe.Experiments;

/// <summary>The paper's table III: MemGP on MoCo, SimCLR and BYOL.</summary>
static class TableIII
{
    public static IEnumerable<ResultTable> Build(ReproduceSettings settings, Scenarios s)
    {
        var dataset = settings.MainDataset;
        var table = new ResultTable("table-iii", "Table III: MoCo, SimCLR and BYOL",
            $"Each method's encoder on {dataset}, before and after MemGP; MIA as in table II. {SeedCaption(settings.AblationSeedValues)}",
            ["method", "ACC before", "ACC after", "MIA acc before", "MIA acc after", "AUC before", "AUC after", "TPR at 1% FPR after"]);
        foreach (var method in ReproduceSettings.ContrastiveMethods)
        {
            var before = s.AblationSeeds(seed => s.Original(method, dataset, seed));
            var after = s.AblationSeeds(seed => s.Unlearned(method, dataset, seed, settings.Unlearning("memgp", false, seed)));
            table.Add(TableValue.Text(Name(method)), Pct(before, x => x.Utility), Pct(after, x => x.Utility), Pct(before, x => x.Forget.Accuracy), Pct(after, x => x.Forget.Accuracy),
                Num(before, x => x.Forget.Auc), Num(after, x => x.Forget.Auc), Pct(after, x => x.Forget.TprAt1PercentFpr));
        }
        yield return table;
    }
}
