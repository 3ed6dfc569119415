namespace Lethe.Audits;

/// <summary>A two-sample Kolmogorov–Smirnov test: the largest gap between two empirical distribution functions, and its p-value.</summary>
/// <param name="Exact">Whether the p-value is exact (the lattice-path count) or Smirnov's asymptotic one.</param>
public sealed record KsTest(double Statistic, double PValue, int CountA, int CountB, bool Exact);

/// <summary>
/// The two-sided two-sample Kolmogorov–Smirnov test. The statistic is exact; the p-value is exact under the
/// continuous null (every interleaving of the two samples equally likely, counted as lattice paths that leave the band
/// |i/n - j/m| &lt; D) while n·m is at most <see cref="ExactLimit"/>, and Smirnov's limit with Stephens's small-sample
/// correction beyond that. This is what scipy.stats.ks_2samp computes with method="exact" and, for large samples, close
/// to its "asymp" (docs/membership-metrics.md).
/// </summary>
public static class KolmogorovSmirnov
{
    /// <summary>The largest n·m for which the p-value is counted exactly (about a second of arithmetic).</summary>
    public const long ExactLimit = 100_000_000;

    public static KsTest Test(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count == 0 || b.Count == 0) throw new ArgumentException("a Kolmogorov–Smirnov test needs two non-empty samples");
        if (a.Concat(b).Any(x => double.IsNaN(x))) throw new LetheException("a Kolmogorov–Smirnov test got a NaN score");
        var (n, m) = (a.Count, b.Count);
        var gap = LargestGap(a, b);
        var exact = (long)n * m <= ExactLimit;
        var p = exact ? ExactPValue(n, m, gap) : AsymptoticPValue(n, m, (double)gap / ((long)n * m));
        return new KsTest((double)gap / ((long)n * m), p, n, m, exact);
    }

    /// <summary>max |i·m − j·n| over the distinct values, i and j the counts of a and b at or below each: D times n·m, an integer.</summary>
    static long LargestGap(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var x = a.Order().ToArray();
        var y = b.Order().ToArray();
        long n = x.Length, m = y.Length, best = 0;
        int i = 0, j = 0;
        while (i < n || j < m)
        {
            var value = j >= m || (i < n && x[i] <= y[j]) ? x[i] : y[j];
            while (i < n && x[i] <= value) i++;
            while (j < m && y[j] <= value) j++;
            best = Math.Max(best, Math.Abs(i * m - j * n));
        }
        return best;
    }

    /// <summary>
    /// P(gap ≥ observed) for a random interleaving: the probability mass of lattice paths from (0, 0) to (n, m) that
    /// first reach |i·m − j·n| ≥ gap, summed as they leave (no 1 − p cancellation for tiny p-values).
    /// </summary>
    static double ExactPValue(int n, int m, long gap)
    {
        if (gap == 0) return 1;
        bool Outside(long i, long j) => Math.Abs(i * m - j * n) >= gap;
        var row = new double[m + 1];
        var next = new double[m + 1];
        row[0] = 1;
        double left = 0;
        for (var i = 0; i <= n; i++)
        {
            Array.Clear(next);
            for (var j = 0; j <= m; j++)
            {
                var mass = row[j];
                if (mass == 0) continue;
                var remaining = (double)(n - i + m - j);
                if (remaining == 0) continue;
                if (i < n)
                {
                    var step = mass * (n - i) / remaining;
                    if (Outside(i + 1, j)) left += step;
                    else next[j] += step;
                }
                if (j < m)
                {
                    var step = mass * (m - j) / remaining;
                    if (Outside(i, j + 1)) left += step;
                    else row[j + 1] += step;
                }
            }
            (row, next) = (next, row);
        }
        return Math.Clamp(left, 0, 1);
    }

    /// <summary>Smirnov's limit Q(λ) = 2 Σ (−1)^(k−1) exp(−2k²λ²), λ = (√e + 0.12 + 0.11/√e)·D with e = n·m/(n+m) (Stephens).</summary>
    public static double AsymptoticPValue(int n, int m, double statistic)
    {
        var e = (double)n * m / (n + m);
        var lambda = (Math.Sqrt(e) + 0.12 + 0.11 / Math.Sqrt(e)) * statistic;
        if (lambda < 0.2) return 1;
        double sum = 0, sign = 1;
        for (var k = 1; k <= 100; k++)
        {
            var term = sign * Math.Exp(-2 * k * k * lambda * lambda);
            sum += term;
            if (Math.Abs(term) < 1e-16 * Math.Abs(sum)) break;
            sign = -sign;
        }
        return Math.Clamp(2 * sum, 0, 1);
    }
}
