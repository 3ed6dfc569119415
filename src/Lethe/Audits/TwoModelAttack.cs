namespace Lethe.Audits;

/// <summary>
/// The attacker who holds the model before and after a deletion (Chen et al., "When Machine Unlearning Jeopardizes
/// Privacy", CCS 2021): a sample's membership signal falls when it is forgotten, so the drop from the original model to
/// the updated one tells forgotten members from retained ones. Scored as the AUC of the drop, forgotten members
/// against retained members. Retraining has a drop too (it never saw the forgotten samples), so retraining's figure is
/// the floor that any unlearning method shares; a method above it leaks which samples were deleted.
/// </summary>
public static class TwoModelAttack
{
    /// <summary>The AUC, with its DeLong interval, of the drop in <paramref name="attack"/>'s score from <paramref name="original"/> to <paramref name="updated"/>.</summary>
    public static AucEstimate Auc(MembershipScores original, MembershipScores updated, string attack)
    {
        if (!original.ForgetIds.SequenceEqual(updated.ForgetIds) || !original.RetainIds.SequenceEqual(updated.RetainIds))
            throw new LetheException($"{original.Model} and {updated.Model} were not scored on the same members");
        var (before, after) = (original[attack], updated[attack]);
        double[] Drop(double[] b, double[] a) => [.. b.Zip(a, (x, y) => x - y)];
        return AucInterval.Of(Drop(before.Forget, after.Forget), Drop(before.Retain, after.Retain));
    }
}
