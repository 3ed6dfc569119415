namespace Lethe.Audits;

/// <summary>
/// Puts a model's attack scores on the scale of its own non-members: each score becomes its mid-rank percentile among
/// the model's scores of the non-members (the fraction below it plus half the fraction equal to it; scipy's
/// percentileofscore with kind="mean", divided by 100). Two models trained alike can shift or stretch their raw scores
/// (a retrained encoder's view similarities all sit a little higher or lower than another's); what an attacker reads is
/// where a sample falls against samples the model never saw, and that survives the shift (docs/membership-metrics.md).
/// </summary>
public static class NonMemberCalibration
{
    public static double[] Percentiles(IReadOnlyList<double> scores, IReadOnlyList<double> nonMembers)
    {
        if (nonMembers.Count == 0) throw new ArgumentException("calibration needs at least one non-member score");
        if (nonMembers.Any(double.IsNaN) || scores.Any(double.IsNaN)) throw new LetheException("a membership score is NaN; calibration cannot place it");
        var sorted = nonMembers.Order().ToArray();
        return [.. scores.Select(s => (Below(sorted, s, strict: true) + Below(sorted, s, strict: false)) / (2.0 * sorted.Length))];
    }

    /// <summary>How many of <paramref name="sorted"/> lie below <paramref name="value"/> (strictly, or at or below).</summary>
    static int Below(double[] sorted, double value, bool strict)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (strict ? sorted[mid] < value : sorted[mid] <= value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
