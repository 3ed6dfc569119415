using System.Diagnostics;
using System.Text.Json.Serialization;
using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>Means of a classifier's per-sample diagnostics over one group.</summary>
public sealed record ClassifierGroupDiagnostics(string Group, int Count, double Top1, double Top3, double Entropy, double Loss, double Accuracy);

/// <summary>What `lethe audit` writes for a classifier: the supervised attacks on forget and retained members, diagnostics, test accuracy.</summary>
public sealed record ClassifierAuditReport(
    string Model,
    string Attacker,
    AuditSettings Settings,
    int Forget,
    int Retain,
    int NonMembers,
    int CalibrationMembers,
    int CalibrationNonMembers,
    SupervisedAttackResult ForgetAttacks,
    SupervisedAttackResult RetainAttacks,
    IReadOnlyList<ClassifierGroupDiagnostics> Diagnostics,
    double TestAccuracy,
    double Seconds) : IAuditReport
{
    [JsonIgnore]
    public MembershipScores? Scores { get; init; }

    public AttackMetrics Headline(bool forget) => (forget ? ForgetAttacks : RetainAttacks).Confidence;

    public IEnumerable<(string Output, string Attack, AttackMetrics Metrics)> Attacks(bool forget) =>
        MembershipAttacks.Results(null, forget ? ForgetAttacks : RetainAttacks).Select(a => (ClassifierAudit.Output, a.Attack, a.Metrics));

    public IReadOnlyList<(string Measure, double Value)> Utility => [("test accuracy", TestAccuracy)];

    public string Markdown() => Reports.AuditMarkdown.Render(this);
}

/// <summary>
/// Audits a classifier the way <see cref="EncoderAudit"/> audits an encoder: the same groups and calibration split
/// (or a shadow classifier's shadow members and non-members), the supervised attacks on the class softmax, per-group
/// diagnostics and accuracy, and test accuracy as utility.
/// </summary>
public static class ClassifierAudit
{
    /// <summary>The name of a classifier's output in attack names (logits/confidence, say).</summary>
    public const string Output = "logits";

    public static ClassifierAuditReport Run(string name, Learner model, Dataset data, MembershipSplit split, AuditSettings settings, Device device, Learner? shadow = null) =>
        model.Evaluating(() => shadow is null
            ? Run(name, model.forward, data, split, settings, device)
            : shadow.Evaluating(() => Run(name, model.forward, data, split, settings, device, shadow.forward)));

    /// <summary>Audits any predictor given as a function from images to logits or log-probabilities (a SISA ensemble, say).</summary>
    public static ClassifierAuditReport Run(
        string name, Func<Tensor, Tensor> model, Dataset data, MembershipSplit split, AuditSettings settings, Device device, Func<Tensor, Tensor>? shadow = null)
    {
        settings.Validate();
        var watch = Stopwatch.StartNew();
        var groups = AuditGroups.From(split, settings, calibrate: shadow is null);
        PredictionSignals Signals(Func<Tensor, Tensor> m, ImageSet images, int[] ids) => ClassifierSignals.Compute(m, images, ids, settings.TopK, device);
        var forget = Signals(model, data.Train, groups.Forget);
        var retain = Signals(model, data.Train, groups.Retain);
        var nonMembers = Signals(model, data.Test, groups.NonMembers);
        var (knownMembers, knownNonMembers) = shadow is null
            ? (Signals(model, data.Train, groups.CalibrationMembers), Signals(model, data.Test, groups.CalibrationNonMembers))
            : (Signals(shadow, data.Train, split.ShadowMembers), Signals(shadow, data.Train, split.ShadowNonMembers));
        var seed = Seeds.Derive(settings.Seed, "audit/attack/classifier");
        var scores = SupervisedMembershipAttack.Fit(knownMembers, knownNonMembers, seed)
            .Select(a => new AttackScores($"{Output}/{a.Name}", a.Threshold, a.Score(forget), a.Score(retain), a.Score(nonMembers))).ToArray();
        static ClassifierGroupDiagnostics Diagnose(string group, PredictionSignals s) => new(
            group, s.Count, s.Top1.Average(), s.Top3.Average(), s.Entropy.Average(), s.Loss.Average(), s.Correct!.Count(c => c) / (double)s.Count);
        return new ClassifierAuditReport(
            name, shadow is null ? "calibration" : "shadow", settings,
            groups.Forget.Length, groups.Retain.Length, groups.NonMembers.Length,
            shadow is null ? groups.CalibrationMembers.Length : split.ShadowMembers.Length,
            shadow is null ? groups.CalibrationNonMembers.Length : split.ShadowNonMembers.Length,
            MembershipAttacks.SupervisedResult(scores, forget: true),
            MembershipAttacks.SupervisedResult(scores, forget: false),
            [Diagnose("forget", forget), Diagnose("retain", retain), Diagnose("non-members", nonMembers)],
            ClassifierSignals.Accuracy(model, data.Test, settings.TestIds(data.Test.Count), device),
            watch.Elapsed.TotalSeconds)
        {
            Scores = MembershipScores.Create(name, groups.Forget, groups.Retain, groups.NonMembers, scores),
        };
    }
}
