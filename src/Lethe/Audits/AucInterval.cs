namespace Lethe.Audits;

/// <summary>An AUC with its DeLong standard error and 95% confidence interval.</summary>
public sealed record AucEstimate(double Auc, double StandardError, double Low, double High, int Positives, int Negatives);

/// <summary>The difference of two AUCs measured on the same samples, with DeLong's paired standard error.</summary>
public sealed record AucDifference(double Difference, double StandardError, double Low, double High, double PValue);

/// <summary>
/// DeLong, DeLong and Clarke-Pearson (1988): the empirical AUC's variance from each sample's placement value (the share
/// of the other class it outranks, ties counting one half). Two AUCs on the same positives and negatives (two models
/// scoring the same samples) are compared with the covariance of their placements.
/// </summary>
public static class AucInterval
{
    const double Z = 1.959963984540054;

    public static AucEstimate Of(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        var (v10, v01) = Placements(positives, negatives);
        var auc = v10.Average();
        var se = Math.Sqrt(Variance(v10) / v10.Length + Variance(v01) / v01.Length);
        return new AucEstimate(auc, se, Math.Max(0, auc - Z * se), Math.Min(1, auc + Z * se), positives.Count, negatives.Count);
    }

    /// <summary>AUC(a) − AUC(b), where a and b score the same positives and the same negatives, in the same order.</summary>
    public static AucDifference Paired(IReadOnlyList<double> positivesA, IReadOnlyList<double> negativesA, IReadOnlyList<double> positivesB, IReadOnlyList<double> negativesB)
    {
        if (positivesA.Count != positivesB.Count || negativesA.Count != negativesB.Count)
            throw new ArgumentException("a paired AUC comparison needs both models' scores of the same samples");
        var (a10, a01) = Placements(positivesA, negativesA);
        var (b10, b01) = Placements(positivesB, negativesB);
        var difference = a10.Average() - b10.Average();
        var variance = (Variance(a10) + Variance(b10) - 2 * Covariance(a10, b10)) / a10.Length
            + (Variance(a01) + Variance(b01) - 2 * Covariance(a01, b01)) / a01.Length;
        var se = Math.Sqrt(Math.Max(0, variance));
        var p = se > 0 ? 2 * NormalTail(Math.Abs(difference) / se) : difference == 0 ? 1 : 0;
        return new AucDifference(difference, se, difference - Z * se, difference + Z * se, p);
    }

    /// <summary>Each positive's share of negatives it outranks, and each negative's share of positives that outrank it.</summary>
    static (double[] V10, double[] V01) Placements(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        if (positives.Count < 2 || negatives.Count < 2) throw new ArgumentException("DeLong's variance needs at least two positives and two negatives");
        var sortedNegatives = negatives.Order().ToArray();
        var sortedPositives = positives.Order().ToArray();
        var v10 = positives.Select(x => Below(sortedNegatives, x)).ToArray();
        var v01 = negatives.Select(y => 1 - Below(sortedPositives, y)).ToArray();
        return (v10, v01);
    }

    /// <summary>Share of <paramref name="sorted"/> below <paramref name="x"/>, ties counting one half.</summary>
    static double Below(double[] sorted, double x)
    {
        var lower = LowerBound(sorted, x);
        var upper = LowerBound(sorted, Math.BitIncrement(x));
        return (lower + 0.5 * (upper - lower)) / sorted.Length;
    }

    static int LowerBound(double[] sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (sorted[mid] < x) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    static double Variance(double[] v) => Covariance(v, v);

    static double Covariance(double[] a, double[] b)
    {
        var (ma, mb) = (a.Average(), b.Average());
        return a.Zip(b, (x, y) => (x - ma) * (y - mb)).Sum() / (a.Length - 1);
    }

    /// <summary>P(Z &gt; z) for a standard normal.</summary>
    public static double NormalTail(double z) => 0.5 * Erfc(z / Math.Sqrt(2));

    /// <summary>The complementary error function (Numerical Recipes' Chebyshev fit, relative error under 1.2e-7).</summary>
    static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1 / (1 + 0.5 * z);
        var r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
