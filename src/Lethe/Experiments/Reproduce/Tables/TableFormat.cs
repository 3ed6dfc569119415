using System.Globalization;
using Lethe.Audits;
using Lethe.Training;

namespace Lethe.Experiments;

/// <summary>How the tables show measurements: one value per seed, as percent or number, and text cells.</summary>
static class TableFormat
{
    public static string Name(string model) => TrainingMethods.DisplayName(model);

    public static string Percent(double fraction) => (fraction * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    public static TableValue Mark(int on) => TableValue.Text(on == 1 ? "✓" : "✗");

    public static TableValue Pct(Measurement[] m, Func<Measurement, double?> value) =>
        TableValue.Numbers(m.Any(x => value(x) is null) ? null : [.. m.Select(x => value(x)!.Value)], "percent");

    public static TableValue Num(Measurement[] m, Func<Measurement, double?> value) =>
        TableValue.Numbers(m.Any(x => value(x) is null) ? null : [.. m.Select(x => value(x)!.Value)], "number");

    /// <summary>One figure per seed from any per-seed object (a comparison, an attack's scores).</summary>
    public static TableValue Values<T>(T[] perSeed, Func<T, double> value, string format = "number") => TableValue.Numbers([.. perSeed.Select(value)], format);

    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Measurement, Dictionary<Measurement, RetrainingComparison>> Compared = [];

    /// <summary><paramref name="m"/> against the retrained model <paramref name="retrained"/>, computed once per pair.</summary>
    public static RetrainingComparison Versus(Measurement m, Measurement retrained)
    {
        var known = Compared.GetOrCreateValue(m);
        lock (known)
        {
            if (!known.TryGetValue(retrained, out var comparison)) known[retrained] = comparison = RetrainingComparison.Of(Scores(m), Scores(retrained));
            return comparison;
        }
    }

    /// <summary>"k/n": on how many seeds the model matches the retrained one.</summary>
    public static TableValue Matches(Measurement[] m, Measurement[] retrained) =>
        TableValue.Text($"{m.Zip(retrained, Versus).Count(v => v.Matches)}/{m.Length}");

    /// <summary>A measurement's per-sample scores (kept beside every cell).</summary>
    public static MembershipScores Scores(Measurement m) => m.Scores ?? throw new InvalidOperationException("a cell without its per-sample scores");

    /// <summary>How many non-members a model's audit scores, and how many false positives 1% and 0.1% FPR allow among them.</summary>
    public static (int NonMembers, int At1, int At01) FalsePositives(ReproduceSettings settings, string model, string dataset)
    {
        var members = settings.Recipe(model, dataset, settings.FirstSeed).NonMembers;
        var scored = members - (int)(members * settings.Audit(settings.FirstSeed).CalibrationFraction);
        return (scored, (int)Math.Floor(0.01 * scored + 1e-9), (int)Math.Floor(0.001 * scored + 1e-9));
    }

    /// <summary>"Mean ± 95% CI over seeds 1, 2, 3." or "One seed (1): no interval."</summary>
    public static string SeedCaption(IEnumerable<long> seeds)
    {
        var list = seeds.ToArray();
        var names = string.Join(", ", list);
        return list.Length > 1
            ? $"Mean ± 95% confidence interval (Student t) over {list.Length} seeds ({names}), each with its own split, training, unlearning and audit."
            : $"One seed ({names}): no interval.";
    }

    public static TableValue Notes(Measurement[] m) => TableValue.Text(string.Join("; ", m.Select(x => x.Note).Where(n => n is not null).Distinct()));

    public static readonly string[] AblationColumns = ["ACC", "MIA acc", "AUC", "forget top-1", "forget loss", "forget cos sim", "ended early"];

    public static TableValue[] Ablation(Measurement[] m) =>
        [Pct(m, x => x.Utility), Pct(m, x => x.Forget.Accuracy), Num(m, x => x.Forget.Auc), Num(m, x => x.ForgetTop1), Num(m, x => x.ForgetLoss), Num(m, x => x.ForgetSimilarity), Notes(m)];
}
