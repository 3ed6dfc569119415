using System.Globalization;
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

    public static TableValue Notes(Measurement[] m) => TableValue.Text(string.Join("; ", m.Select(x => x.Note).Where(n => n is not null).Distinct()));

    public static readonly string[] AblationColumns = ["ACC", "MIA acc", "AUC", "forget top-1", "forget loss", "forget cos sim", "ended early"];

    public static TableValue[] Ablation(Measurement[] m) =>
        [Pct(m, x => x.Utility), Pct(m, x => x.Forget.Accuracy), Num(m, x => x.Forget.Auc), Num(m, x => x.ForgetTop1), Num(m, x => x.ForgetLoss), Num(m, x => x.ForgetSimilarity), Notes(m)];
}
