using static Lethe.Experiments.TableFormat;

namespace Lethe.Experiments;

/// <summary>The paper's table IV: the full variant's terms switched on and off.</summary>
static class TableIV
{
    public static IEnumerable<ResultTable> Build(ReproduceSettings settings, Scenarios s)
    {
        var (dataset, method) = (settings.MainDataset, settings.MainMethod);
        var table = new ResultTable("table-iv", "Table IV: ablation of the full variant (MNorm, GP, MLoss)",
            $"The full variant (eq. 2) on the {Name(method)} encoder of {dataset} with each term's weight 1 or 0: MNorm is L_Norm (gamma), GP the penalty at " +
            "interpolates with shadow non-members (beta), MLoss the training loss on the forget set (alpha). The first row is the model before unlearning. " +
            $"Top-1, loss and cosine similarity are the forget set's means on the head. {SeedCaption(settings.AblationSeedValues)}",
            ["MNorm", "GP", "MLoss", .. AblationColumns]);
        table.Add([TableValue.Text("before"), TableValue.Text(""), TableValue.Text(""), .. Ablation(s.AblationSeeds(seed => s.Original(method, dataset, seed)))]);
        foreach (var (norm, gp, loss) in new[] { (1, 1, 1), (1, 1, 0), (1, 0, 0), (0, 1, 1), (1, 0, 1), (0, 1, 0) })
        {
            // All three terms is the full variant's default: the same cell as the method comparison's "gp".
            var variant = (norm, gp, loss) == (1, 1, 1) ? null : $"n{norm}-g{gp}-l{loss}";
            var after = s.AblationSeeds(seed => s.Unlearned(method, dataset, seed, settings.Unlearning("gp", false, seed) with { Gamma = norm, Beta = gp, Alpha = loss }, variant: variant));
            table.Add([Mark(norm), Mark(gp), Mark(loss), .. Ablation(after)]);
        }
        yield return table;
    }
}
