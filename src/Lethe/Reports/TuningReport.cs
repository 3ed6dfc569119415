using System.Globalization;
using Lethe.Experiments;
using Lethe.Storage;
using Lethe.Unlearning;

namespace Lethe.Reports;

/// <summary>The record of a tuning: every candidate with its distance to retraining, the chosen ones marked (tuning.md and tuning.json).</summary>
public static class TuningReport
{
    public static ResultTable Table(TuningResult result)
    {
        var table = new ResultTable("tuning", "Tuning: every candidate's distance to the retrained model",
            $"Seeds {string.Join(", ", result.Tuned.TuningSeeds)} ({result.Tuned.Dataset}, {result.Tuned.EncoderMethod} and the classifier). Distance: {result.Tuned.Criterion}. " +
            "Chosen: the smallest distance; ties go to fewer epochs, then the smaller step. \"Nothing unlearned\" is the original model's own distance: " +
            "a candidate above it is farther from retraining than not unlearning at all.",
            ["kind", "method", "learning rate", "epochs", "distance", "chosen"]);
        foreach (var c in result.NothingUnlearned)
            table.Add(TableValue.Text(c.Kind), TableValue.Text("nothing unlearned"), TableValue.Text("–"), TableValue.Text("0"), TableValue.Numbers(c.PerSeed, "number"), TableValue.Text(""));
        foreach (var c in result.Candidates)
        {
            var chosen = result.Tuned.Methods.Any(m => m.Kind == c.Kind && m.Method == c.Method && m.LearningRate == c.LearningRate && m.Epochs == c.Epochs);
            table.Add(TableValue.Text(c.Kind), TableValue.Text(UnlearningMethods.DisplayName(c.Method)), TableValue.Text(c.LearningRate.ToString("G4", CultureInfo.InvariantCulture)),
                TableValue.Text(c.Epochs.ToString(CultureInfo.InvariantCulture)), TableValue.Numbers(c.PerSeed, "number"), TableValue.Text(chosen ? "✓" : ""));
        }
        return table;
    }

    public static void Write(TuningResult result, string folder)
    {
        var table = Table(result);
        AtomicFile.WriteAllText(Path.Combine(folder, "tuning.md"), $"# {table.Title}\n\n{table.Caption}\n\nThe tuning took {result.Seconds / 60:F1} minutes in this run (cached cells cost nothing).\n\n{table.Markdown()}");
        LetheJson.WriteFile(Path.Combine(folder, "tuning.json"), result);
    }
}
