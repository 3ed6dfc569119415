using System.Text.Json.Serialization;
using Lethe.Audits;

namespace Lethe.Experiments;

/// <summary>
/// One audited model in one experiment, reduced to what the tables show. Encoders: the EncoderMI threshold attack on
/// the projection head's output, kNN accuracy as utility. Classifiers: the confidence (top-1) threshold attack, test
/// accuracy as utility. <see cref="Seconds"/> is the training-step time that produced the model (unlearning or
/// training), null for the original model.
/// </summary>
public sealed record Measurement(
    string Kind,
    double Utility,
    double? LinearProbe,
    AttackMetrics Forget,
    double RetainAuc,
    double ForgetTop1,
    double ForgetLoss,
    double? ForgetSimilarity,
    double NonMemberTop1,
    double? Seconds,
    string? Note)
{
    /// <summary>Every attack's per-sample scores of the audited model (kept beside the cell, not in it).</summary>
    [JsonIgnore]
    public MembershipScores? Scores { get; init; }

    /// <summary>
    /// A stand-in for a cell while a run only lists the cells its tables need (<see cref="WorkPlan"/>): well formed, so
    /// that every table can be built from it, and meaningless. Every placeholder of a kind scores the same samples.
    /// </summary>
    public static Measurement Placeholder(bool classifier)
    {
        string[] attacks = classifier ? [$"{ClassifierAudit.Output}/confidence", $"{ClassifierAudit.Output}/loss"] : ["head/encodermi-threshold", "backbone/encodermi-threshold"];
        static double[] Values(int from, int count) => [.. Enumerable.Range(from, count).Select(i => i * 0.37 % 1)];
        var scores = MembershipScores.Create("placeholder", [0, 1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11], [.. Enumerable.Range(12, 8)],
            [.. attacks.Select(a => new AttackScores(a, 0.5, Values(0, 4), Values(4, 8), Values(12, 8)))]);
        var forget = scores.Attacks[0].Metrics(forget: true);
        return new Measurement(classifier ? "classifier" : "encoder", 0.5, classifier ? null : 0.5, forget, 0.5, 0.5, 1, classifier ? null : 0.5, 0.5, 1, null) { Scores = scores };
    }

    public static Measurement Of(IAuditReport report, double? seconds = null, string? note = null) => report switch
    {
        EncoderAuditReport encoder => Of(encoder, seconds, note),
        ClassifierAuditReport classifier => Of(classifier, seconds, note),
        _ => throw new ArgumentException($"no measurement for a {report.GetType().Name}"),
    };

    public static Measurement Of(EncoderAuditReport report, double? seconds = null, string? note = null)
    {
        var forget = report.Head.Diagnostics.First(d => d.Group == "forget");
        var nonMembers = report.Head.Diagnostics.First(d => d.Group == "non-members");
        return new Measurement(
            "encoder", report.KnnAccuracy, report.LinearProbeAccuracy, report.Head.ForgetEncoderMi.Threshold, report.Head.RetainEncoderMi.Threshold.Auc,
            forget.Top1, forget.Loss, forget.Similarity, nonMembers.Top1, seconds, note);
    }

    public static Measurement Of(ClassifierAuditReport report, double? seconds = null, string? note = null)
    {
        var forget = report.Diagnostics.First(d => d.Group == "forget");
        var nonMembers = report.Diagnostics.First(d => d.Group == "non-members");
        return new Measurement(
            "classifier", report.TestAccuracy, null, report.ForgetAttacks.Confidence, report.RetainAttacks.Confidence.Auc,
            forget.Top1, forget.Loss, null, nonMembers.Top1, seconds, note);
    }
}
