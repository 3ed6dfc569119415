using System.Globalization;
using static Lethe.Experiments.TableFormat;

namespace Lethe.Experiments;

/// <summary>The paper's table VI: forget sets of growing size.</summary>
static class TableVI
{
    public static IEnumerable<ResultTable> Build(ReproduceSettings settings, Scenarios s)
    {
        var (dataset, method) = (settings.MainDataset, settings.MainMethod);
        var members = settings.Recipe(method, dataset, settings.FirstSeed).Members;
        var table = new ResultTable("table-vi", "Table VI: forget-set sizes",
            $"MemGP on the {Name(method)} encoder of {dataset} ({members} members), forgetting a growing share of them. Before and after are measured on the same " +
            $"forget set; the larger sets contain the smaller ones. {SeedCaption(settings.AblationSeedValues)}",
            ["forgotten", "share", "ACC before", "MIA acc before", "AUC before", "ACC after", "MIA acc after", "AUC after", "forget top-1", "forget loss", "forget cos sim"]);
        foreach (var fraction in settings.ForgetFractions)
        {
            var before = s.AblationSeeds(seed => s.Original(method, dataset, seed, fraction));
            var after = s.AblationSeeds(seed => s.Unlearned(method, dataset, seed, settings.Unlearning("memgp", false, seed), fraction));
            table.Add(TableValue.Text(s.ForgetCount(method, dataset, fraction).ToString(CultureInfo.InvariantCulture)), TableValue.Text(Percent(fraction)),
                Pct(before, x => x.Utility), Pct(before, x => x.Forget.Accuracy), Num(before, x => x.Forget.Auc),
                Pct(after, x => x.Utility), Pct(after, x => x.Forget.Accuracy), Num(after, x => x.Forget.Auc),
                Num(after, x => x.ForgetTop1), Num(after, x => x.ForgetLoss), Num(after, x => x.ForgetSimilarity));
        }
        yield return table;
    }
}
