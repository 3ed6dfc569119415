namespace Lethe.Experiments;

/// <summary>
/// The mean of a few per-seed figures with its two-sided 95% confidence interval from Student's t distribution
/// (n − 1 degrees of freedom): with 3 seeds the half-width is 2.48 standard deviations, which is what three seeds
/// can say (docs/membership-metrics.md).
/// </summary>
public static class MeanInterval
{
    /// <summary>t quantiles at 0.975 for 1 to 30 degrees of freedom.</summary>
    static readonly double[] T975 =
    [
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
        2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
        2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
    ];

    /// <summary>The 0.975 quantile of Student's t; beyond 30 degrees of freedom, the Cornish–Fisher expansion around the normal's 1.96.</summary>
    public static double TQuantile(int degreesOfFreedom)
    {
        if (degreesOfFreedom < 1) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom));
        if (degreesOfFreedom <= T975.Length) return T975[degreesOfFreedom - 1];
        const double z = 1.959963984540054;
        double v = degreesOfFreedom;
        return z + (z * z * z + z) / (4 * v) + (5 * Math.Pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v);
    }

    /// <summary>Half the width of the 95% interval of the mean; null with fewer than two values.</summary>
    public static double? HalfWidth(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return null;
        var mean = values.Average();
        var sd = Math.Sqrt(values.Sum(x => (x - mean) * (x - mean)) / (values.Count - 1));
        return TQuantile(values.Count - 1) * sd / Math.Sqrt(values.Count);
    }
}
