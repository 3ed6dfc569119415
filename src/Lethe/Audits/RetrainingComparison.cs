namespace Lethe.Audits;

/// <summary>
/// One attack's scores of a model next to the retrained model's: per group (forgotten, retained, non-members) the
/// two-sample Kolmogorov–Smirnov test between the two models' raw scores of the same samples; for the members the same
/// test on scores calibrated against each model's own non-members (<see cref="NonMemberCalibration"/>); and inside each
/// model the AUC of retained over forgotten members (above 0.5 in a retrained model, which saw only the retained; about
/// 0.5 in the original, which saw both, and in a model that flattened every member), with DeLong's paired test of the
/// difference.
/// </summary>
public sealed record AttackComparison(
    string Attack, KsTest Forget, KsTest Retain, KsTest NonMember, KsTest CalibratedForget, KsTest CalibratedRetain,
    AucEstimate RetainedOverForgotten, AucEstimate RetrainedRetainedOverForgotten, AucDifference Difference)
{
    public KsTest Group(string group) => group switch
    {
        ScoreGroups.Forget => Forget,
        ScoreGroups.Retain => Retain,
        ScoreGroups.NonMember => NonMember,
        _ => throw new ArgumentException($"unknown score group '{group}'"),
    };

    /// <summary>
    /// The p-values the verdict reads: the calibrated KS tests of the forgotten and the retained members and the paired
    /// AUC test. The raw KS tests stay out: two exact retrainings differ on them (docs/membership-metrics.md).
    /// </summary>
    public IEnumerable<(string Test, double PValue)> Tests =>
    [
        ($"{Attack} calibrated forget KS", CalibratedForget.PValue),
        ($"{Attack} calibrated retain KS", CalibratedRetain.PValue),
        ($"{Attack} retained-over-forgotten AUC", Difference.PValue),
    ];
}

/// <summary>
/// Whether a model behaves like the model retrained without the forget set, judged on its scores alone
/// (docs/membership-metrics.md). The verdict is "matches" when no test of the verdict attacks rejects at a
/// Bonferroni-corrected 5% level; it says there is no evidence of a difference, and it is only as strong as the
/// sample counts behind it.
/// </summary>
public sealed record RetrainingComparison(string Model, IReadOnlyList<AttackComparison> Attacks, IReadOnlyList<string> VerdictAttacks, bool Matches, string Reason)
{
    public const double Alpha = 0.05;

    /// <summary>The attacks the verdict reads: EncoderMI's threshold attack on both encoder outputs; the confidence and loss attacks on a classifier.</summary>
    public static IReadOnlyList<string> DefaultVerdictAttacks(MembershipScores scores) =>
        scores.Has("head/encodermi-threshold")
            ? ["head/encodermi-threshold", "backbone/encodermi-threshold"]
            : [$"{ClassifierAudit.Output}/confidence", $"{ClassifierAudit.Output}/loss"];

    public AttackComparison this[string attack] => Attacks.First(a => a.Attack == attack);

    /// <summary>Compares every attack the two score sets share; both must score the same samples.</summary>
    public static RetrainingComparison Of(MembershipScores model, MembershipScores retrained, IReadOnlyList<string>? verdictAttacks = null)
    {
        foreach (var group in ScoreGroups.All)
        {
            if (!model.Ids(group).SequenceEqual(retrained.Ids(group)))
                throw new LetheException($"{model.Model} and {retrained.Model} were not scored on the same {group} samples: audit both on one split with one audit seed");
        }
        var attacks = model.Attacks.Where(a => retrained.Has(a.Attack)).Select(a =>
        {
            var r = retrained[a.Attack];
            KsTest Calibrated(double[] mine, double[] theirs) => KolmogorovSmirnov.Test(
                NonMemberCalibration.Percentiles(mine, a.NonMembers), NonMemberCalibration.Percentiles(theirs, r.NonMembers));
            return new AttackComparison(
                a.Attack,
                KolmogorovSmirnov.Test(a.Forget, r.Forget),
                KolmogorovSmirnov.Test(a.Retain, r.Retain),
                KolmogorovSmirnov.Test(a.NonMembers, r.NonMembers),
                Calibrated(a.Forget, r.Forget),
                Calibrated(a.Retain, r.Retain),
                AucInterval.Of(a.Retain, a.Forget),
                AucInterval.Of(r.Retain, r.Forget),
                AucInterval.Paired(a.Retain, a.Forget, r.Retain, r.Forget));
        }).ToArray();
        var verdict = verdictAttacks ?? DefaultVerdictAttacks(model);
        var tests = attacks.Where(a => verdict.Contains(a.Attack)).SelectMany(a => a.Tests).ToArray();
        if (tests.Length == 0) throw new LetheException($"{model.Model} and {retrained.Model} share none of the verdict attacks ({string.Join(", ", verdict)})");
        var level = Alpha / tests.Length;
        var rejected = tests.Where(t => t.PValue < level).OrderBy(t => t.PValue).ToArray();
        var reason = rejected.Length == 0
            ? $"no test of {tests.Length} rejects at {Alpha}/{tests.Length}"
            : $"{rejected.Length} of {tests.Length} tests reject at {Alpha}/{tests.Length}, first {rejected[0].Test} (p = {rejected[0].PValue:G2})";
        return new RetrainingComparison(model.Model, attacks, verdict, rejected.Length == 0, reason);
    }
}
