using static Lethe.Experiments.TableFormat;

namespace Lethe.Experiments;

/// <summary>The paper's table V: MemGP with and without the training loss on the forget set.</summary>
static class TableV
{
    public static IEnumerable<ResultTable> Build(ReproduceSettings settings, Scenarios s)
    {
        var (dataset, method) = (settings.MainDataset, settings.MainMethod);
        var table = new ResultTable("table-v", "Table V: ablation of the optimized variant (MemGP, MLoss)",
            $"MemGP (eq. 3) on the {Name(method)} encoder of {dataset}, with and without the training loss on the forget set. {SeedCaption(settings.AblationSeedValues)}",
            ["MemGP", "MLoss", .. AblationColumns]);
        table.Add([TableValue.Text("before"), TableValue.Text(""), .. Ablation(s.AblationSeeds(seed => s.Original(method, dataset, seed)))]);
        foreach (var loss in new[] { 1, 0 })
        {
            var after = s.AblationSeeds(seed => s.Unlearned(method, dataset, seed, settings.Unlearning("memgp", false, seed) with { Alpha = loss }, variant: loss == 1 ? null : "l0"));
            table.Add([Mark(1), Mark(loss), .. Ablation(after)]);
        }
        yield return table;
    }
}
