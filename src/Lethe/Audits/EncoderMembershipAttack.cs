namespace Lethe.Audits;

/// <summary>EncoderMI's two attacks on one encoder output, scored on one set of members against non-members.</summary>
public sealed record EncoderAttackResult(AttackMetrics Threshold, AttackMetrics Vector);

/// <summary>
/// EncoderMI (Liu et al., CCS 2021): a member's augmented views agree with each other more than a non-member's do.
/// The threshold attack calls a sample a member when the mean pairwise cosine similarity of its views reaches a
/// threshold; the vector attack feeds the sorted similarities to a small MLP. Both are fitted on samples whose
/// membership the attacker knows (a calibration part of the target's data, or a shadow encoder's) and scored on
/// disjoint ones.
/// </summary>
public static class EncoderMembershipAttack
{
    public static EncoderAttackResult Run(OutputSignals knownMembers, OutputSignals knownNonMembers, OutputSignals members, OutputSignals nonMembers, long seed)
    {
        var threshold = MembershipMetrics.BestThreshold(knownMembers.Similarity, knownNonMembers.Similarity);
        var vector = AttackClassifier.Fit(knownMembers.SortedSimilarities, knownNonMembers.SortedSimilarities, seed);
        return new EncoderAttackResult(
            MembershipMetrics.Evaluate(members.Similarity, nonMembers.Similarity, threshold),
            MembershipMetrics.Evaluate(vector.Score(members.SortedSimilarities), vector.Score(nonMembers.SortedSimilarities), 0));
    }
}
