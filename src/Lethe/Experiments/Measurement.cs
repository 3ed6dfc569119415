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
