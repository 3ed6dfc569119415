using Lethe.Experiments;
using Lethe.Storage;

namespace Lethe.Reports;

/// <summary>The record of `lethe tune --diagnose`: one row per variant and tuning seed (diagnosis.md and diagnosis.json).</summary>
public static class DiagnosisReport
{
    public static ResultTable Table(DiagnosisResult result)
    {
        var table = new ResultTable("diagnosis", "Diagnosis: where the retained members' signal goes, and what each part of the targeted method does",
            "Tuning seeds only. Attack: the verdict's first attack (EncoderMI threshold on the head; the classifier's confidence threshold). " +
            "Calibrated KS: against the retrained model of the same seed (0 = same distribution). Distance: the tuning criterion (docs/tuning.md). " +
            "Gradient norms: the mean ||d sum(D(x))/dx|| on each group divided by the original model's (the penalty drives the norm itself to 1 at the forget samples).",
            ["kind", "seed", "variant", "what it changes", "forget AUC", "retained AUC", "calibrated KS forget", "calibrated KS retained", "utility gap", "distance",
             "seconds", "ended", "grad norm forget", "grad norm retained", "grad norm non-members"]);
        foreach (var r in result.Retrained.Concat(result.Rows).OrderBy(r => r.Kind).ThenBy(r => r.Seed).ThenBy(r => r.Label == "retrained" ? 0 : 1))
        {
            table.Add(TableValue.Text(r.Kind), TableValue.Text(r.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture)), TableValue.Text(r.Label), TableValue.Text(r.Change),
                Number(r.ForgetAuc), Number(r.RetainAuc), Number(r.CalibratedKsForget), Number(r.CalibratedKsRetain),
                TableValue.Numbers([r.UtilityGap], "signed-percent"), Number(r.Distance),
                TableValue.Numbers(r.Seconds is { } s ? [s] : null, "seconds"), TableValue.Text(r.Note ?? ""),
                Ratio(r.ForgetNorm), Ratio(r.RetainNorm), Ratio(r.NonMemberNorm));
        }
        return table;
    }

    static TableValue Number(double value) => TableValue.Numbers([value], "number");

    static TableValue Ratio(double value) => TableValue.Numbers([value], "number");

    public static void Write(DiagnosisResult result, string folder)
    {
        var table = Table(result);
        AtomicFile.WriteAllText(Path.Combine(folder, "diagnosis.md"), $"# {table.Title}\n\n{table.Caption}\n\n{table.Markdown()}");
        LetheJson.WriteFile(Path.Combine(folder, "diagnosis.json"), result);
    }
}
