using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Models;
using Lethe.Storage;
using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>What every audit report gives, whatever the model kind: the attacks on the forget and retained members, and utility.</summary>
public interface IAuditReport
{
    double Seconds { get; }

    /// <summary>Every attack's per-sample scores (scores.csv); null for a report read back from audit.json.</summary>
    MembershipScores? Scores { get; }

    /// <summary>
    /// The attack the tables lead with: EncoderMI's threshold attack on an encoder's head, the confidence threshold attack
    /// on a classifier; on the forget set (or the retained members) against the non-members.
    /// </summary>
    AttackMetrics Headline(bool forget);

    /// <summary>Every attack on every output, on the forget set (or the retained members) against the non-members.</summary>
    IEnumerable<(string Output, string Attack, AttackMetrics Metrics)> Attacks(bool forget);

    /// <summary>Utility figures: kNN and linear-probe accuracy for an encoder, test accuracy for a classifier.</summary>
    IReadOnlyList<(string Measure, double Value)> Utility { get; }

    /// <summary>The report as Markdown (audit.md).</summary>
    string Markdown();
}

/// <summary>The audit of any learner: <see cref="EncoderAudit"/> for encoders, <see cref="ClassifierAudit"/> for classifiers.</summary>
public static class Audit
{
    /// <summary>
    /// Writes <paramref name="stem"/>.json, .md and, when the report has them, its per-sample scores as
    /// <paramref name="stem"/>.scores.csv (<paramref name="compressScores"/>: .scores.csv.gz) into <paramref name="folder"/>.
    /// </summary>
    public static void Write(IAuditReport report, string folder, string stem = "audit", bool compressScores = false)
    {
        LetheJson.WriteFile(Path.Combine(folder, stem + ".json"), (object)report);
        AtomicFile.WriteAllText(Path.Combine(folder, stem + ".md"), report.Markdown());
        report.Scores?.Write(ScoresPath(folder, stem, compressScores));
    }

    /// <summary>Where <see cref="Write"/> puts the scores.</summary>
    public static string ScoresPath(string folder, string stem = "audit", bool compressed = false) =>
        Path.Combine(folder, stem + (compressed ? ".scores.csv.gz" : ".scores.csv"));

    /// <summary>
    /// The utility figures of <see cref="IAuditReport.Utility"/> alone, without the attacks: kNN (and linear-probe) accuracy
    /// with <paramref name="trainIds"/> as the bank for an encoder, test accuracy for a classifier.
    /// </summary>
    public static IReadOnlyList<(string Measure, double Value)> Utility(Learner model, Dataset data, IReadOnlyList<int> trainIds, AuditSettings settings, Device device)
    {
        if (model is not ContrastiveLearner)
            return [("test accuracy", ClassifierSignals.Accuracy(model, data.Test, settings.TestIds(data.Test.Count), device))];
        var (knn, probe) = EncoderAudit.Utility(model, data, trainIds, model.Recipe, settings, device);
        return probe is { } p ? [("kNN accuracy", knn), ("linear probe", p)] : [("kNN accuracy", knn)];
    }

    /// <summary>
    /// Audits <paramref name="model"/> on <paramref name="split"/>'s forget, retained and non-member groups; the attacks are
    /// fitted on a calibration part of the target's data, or on <paramref name="shadow"/>'s shadow members and non-members.
    /// </summary>
    public static IAuditReport Run(
        string name, Learner model, Dataset data, MembershipSplit split, AuditSettings settings, Device device, Learner? shadow = null, Action<string>? onStage = null)
    {
        if (shadow is not null && shadow.Recipe.IsEncoder != model.Recipe.IsEncoder)
            throw new LetheException($"a {shadow.Method} shadow model cannot stand in for a {model.Method} target");
        return model is ContrastiveLearner encoder
            ? EncoderAudit.Run(name, encoder, data, split, encoder.Recipe, settings, device, shadow as ContrastiveLearner, onStage).Report
            : ClassifierAudit.Run(name, model, data, split, settings, device, shadow);
    }
}
