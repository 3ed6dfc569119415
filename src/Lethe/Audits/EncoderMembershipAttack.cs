namespace Lethe.Audits;

/// <summary>EncoderMI's two attacks on one encoder output, scored on one set of members against non-members.</summary>
public sealed record EncoderAttackResult(AttackMetrics Threshold, AttackMetrics Vector);

/// <summary>
/// One attack fitted on samples of known membership: a per-sample score (higher means "member") of any group's
/// signals, and the threshold at or above which it calls a sample a member.
/// </summary>
public sealed record FittedAttack<TSignals>(string Name, Func<TSignals, double[]> Score, double Threshold)
{
    /// <summary>The same attack reading its signals from a larger record (an encoder output's prediction signals, say).</summary>
    public FittedAttack<TOther> On<TOther>(Func<TOther, TSignals> part) => new(Name, s => Score(part(s)), Threshold);
}

/// <summary>
/// EncoderMI (Liu et al., CCS 2021): a member's augmented views agree with each other more than a non-member's do.
/// The threshold attack calls a sample a member when the mean pairwise cosine similarity of its views reaches a
/// threshold; the vector attack feeds the sorted similarities to a small MLP. Both are fitted on samples whose
/// membership the attacker knows (a calibration part of the target's data, or a shadow encoder's) and scored on
/// disjoint ones.
/// </summary>
public static class EncoderMembershipAttack
{
    public static IReadOnlyList<FittedAttack<OutputSignals>> Fit(OutputSignals knownMembers, OutputSignals knownNonMembers, long seed)
    {
        var vector = AttackClassifier.Fit(knownMembers.SortedSimilarities, knownNonMembers.SortedSimilarities, seed);
        return
        [
            new("encodermi-threshold", s => s.Similarity, MembershipMetrics.BestThreshold(knownMembers.Similarity, knownNonMembers.Similarity)),
            new("encodermi-vector", s => vector.Score(s.SortedSimilarities), 0),
        ];
    }
}
