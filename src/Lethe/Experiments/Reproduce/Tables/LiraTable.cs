using Lethe.Audits;
using Lethe.Unlearning;
using static Lethe.Experiments.TableFormat;

namespace Lethe.Experiments;

/// <summary>
/// The per-sample likelihood-ratio audit (`reproduce --lira K`, docs/lira.md): for the main encoder and the classifier,
/// how well LiRA tells forgotten samples from never-seen ones after each method, and before any unlearning.
/// </summary>
static class LiraTable
{
    public static IEnumerable<ResultTable> Build(ReproduceSettings settings, Scenarios s)
    {
        var (dataset, seed, k) = (settings.MainDataset, settings.FirstSeed, settings.Lira);
        var table = new ResultTable("lira", "LiRA: forgotten samples told from never-seen ones",
            $"{k} reference models per model kind on {dataset}, seed {seed} only (the first report seed): pairs trained on complementary halves of a pool of " +
            "the seed's members and shadow members, each forgetting a random fifth of its half. Every reference model is the target once; its samples' " +
            "scores are judged by per-sample Gaussian fits from the other models (forgotten vs never seen; docs/lira.md). Positives: the targets' " +
            "forgotten samples; negatives: the pool samples they never saw, pooled over targets. \"Nothing unlearned\" scores the same forget sets " +
            "before unlearning: what there was to forget. Retraining would put every TPR at its FPR. Seconds: unlearning steps per reference model.",
            ["model", "method", "positives", "negatives", "AUC", "TPR at 1% FPR", "TPR at 0.1% FPR", "false positives at 0.1% FPR", "seconds"]);
        foreach (var (model, classifier) in new[] { (settings.MainMethod, false), (ReproduceSettings.ClassifierModel, true) })
        {
            var attack = LikelihoodRatioAttack.AttackName(classifier);
            var methods = UnlearningMethods.For(classifier).ToArray();
            var measured = s.Lira(model, dataset, seed, k, [null, .. methods.Select(m => settings.Unlearning(m, classifier, seed))]);
            if (s.Planning) continue; // the reference models are listed, not scored
            table.Add(Row(model, "nothing unlearned", LikelihoodRatioAttack.Evaluate(attack, measured[0].Models), null));
            for (var i = 0; i < methods.Length; i++)
                table.Add(Row(model, UnlearningMethods.DisplayName(methods[i]), LikelihoodRatioAttack.Evaluate(attack, measured[i + 1].Models), measured[i + 1].UnlearningSeconds / k));
        }
        yield return table;
    }

    static TableValue[] Row(string model, string method, LikelihoodRatioResult r, double? seconds) =>
    [
        TableValue.Text(Name(model)),
        TableValue.Text(method),
        TableValue.Text(r.Positives.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        TableValue.Text(r.Negatives.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        TableValue.Numbers([r.Auc], "number"),
        TableValue.Numbers([r.TprAt1PercentFpr], "percent"),
        TableValue.Numbers([r.TprAt01PercentFpr], "percent"),
        TableValue.Text($"≤{r.FalsePositivesAllowed(0.001)}"),
        TableValue.Numbers(seconds is { } v ? [v] : null, "seconds"),
    ];
}
