namespace Lethe.Audits;

/// <summary>The supervised attacks on one model's predictions, scored on one set of members against non-members.</summary>
public sealed record SupervisedAttackResult(AttackMetrics Confidence, AttackMetrics Entropy, AttackMetrics Loss, AttackMetrics Model);

/// <summary>
/// Supervised membership inference: members get more confident, lower-entropy, lower-loss predictions. Three
/// threshold attacks (top-1 probability, negated entropy, negated loss) and a model-based attack in the manner of
/// Shokri et al.: a small MLP on the sorted top-k probabilities, fitted on samples of known membership (a shadow
/// model's, or a calibration part of the target's). Sorting makes it label-free (Salem et al.'s ML-Leaks), which
/// is what an encoder read as a classifier needs.
/// </summary>
public static class SupervisedMembershipAttack
{
    public static IReadOnlyList<FittedAttack<PredictionSignals>> Fit(PredictionSignals knownMembers, PredictionSignals knownNonMembers, long seed)
    {
        FittedAttack<PredictionSignals> Threshold(string name, Func<PredictionSignals, double[]> score) =>
            new(name, score, MembershipMetrics.BestThreshold(score(knownMembers), score(knownNonMembers)));

        var model = AttackClassifier.Fit(knownMembers.TopProbabilities, knownNonMembers.TopProbabilities, seed);
        return
        [
            Threshold("confidence", p => p.Top1),
            Threshold("entropy", p => [.. p.Entropy.Select(e => -e)]),
            Threshold("loss", p => [.. p.Loss.Select(l => -l)]),
            new("model-based", p => model.Score(p.TopProbabilities), 0),
        ];
    }
}
