namespace Lethe.Audits;

/// <summary>
/// One membership attack as the rest of Lethe sees it: its name, its label in reports, a one-line summary for help
/// texts, whether it reads augmented views (encoders only), and where its figures sit in an audit's results.
/// </summary>
public sealed record MembershipAttackInfo(
    string Name, string DisplayName, string Summary, bool NeedsViews, Func<EncoderAttackResult?, SupervisedAttackResult, AttackMetrics> Metrics);

/// <summary>
/// The registry of membership attacks. Each is computed in its own file (<see cref="EncoderMembershipAttack"/>,
/// <see cref="SupervisedMembershipAttack"/>); audit.md, `lethe audit`, `lethe unlearn` and the demo report list
/// the attacks, with their labels, from here, and `lethe audit --help` describes them.
/// </summary>
public static class MembershipAttacks
{
    public static IReadOnlyList<MembershipAttackInfo> All { get; } =
    [
        new("encodermi-threshold", "EncoderMI threshold", "mean pairwise cosine similarity of augmented views against a fitted threshold (EncoderMI)", true,
            (e, _) => e!.Threshold),
        new("encodermi-vector", "EncoderMI vector", "the sorted view similarities into a small MLP (EncoderMI)", true, (e, _) => e!.Vector),
        new("confidence", "confidence threshold", "top-1 softmax probability against a fitted threshold", false, (_, s) => s.Confidence),
        new("entropy", "entropy threshold", "negated entropy of the softmax", false, (_, s) => s.Entropy),
        new("loss", "loss threshold", "negated per-sample loss", false, (_, s) => s.Loss),
        new("model-based", "model-based (top-k)", "the sorted top-k probabilities into a small MLP (Shokri et al., label-free)", false, (_, s) => s.Model),
    ];

    /// <summary>Every attack that applies, with its label and figures; <paramref name="views"/> is null for a classifier.</summary>
    public static IEnumerable<(string Attack, AttackMetrics Metrics)> Results(EncoderAttackResult? views, SupervisedAttackResult prediction) =>
        All.Where(a => views is not null || !a.NeedsViews).Select(a => (a.DisplayName, a.Metrics(views, prediction)));

    /// <summary>EncoderMI's figures on one output, from that output's attack scores (head/encodermi-threshold, ...).</summary>
    public static EncoderAttackResult EncoderResult(IReadOnlyList<AttackScores> output, bool forget) =>
        new(Metrics(output, "encodermi-threshold", forget), Metrics(output, "encodermi-vector", forget));

    /// <summary>The supervised attacks' figures on one output, from that output's attack scores.</summary>
    public static SupervisedAttackResult SupervisedResult(IReadOnlyList<AttackScores> output, bool forget) =>
        new(Metrics(output, "confidence", forget), Metrics(output, "entropy", forget), Metrics(output, "loss", forget), Metrics(output, "model-based", forget));

    static AttackMetrics Metrics(IReadOnlyList<AttackScores> output, string attack, bool forget) =>
        output.Single(a => a.Attack.EndsWith("/" + attack, StringComparison.Ordinal)).Metrics(forget);

    /// <summary>One line per attack, for help texts.</summary>
    public static string Help() => string.Join("; ", All.Select(a => $"{a.DisplayName}: {a.Summary}"));
}
