using Lethe.Audits;
using Lethe.Experiments;

namespace Lethe.Tests;

/// <summary>KS, DeLong and Student-t figures against hand-computed values and scipy's (the scipy numbers were printed by Debian's python3-scipy 1.x).</summary>
public class StatisticsTests
{
    [Fact]
    public void KsOfDisjointPairsCountsTwoOfSixInterleavings()
    {
        // x = {1, 2}, y = {3, 4}: D = 1; of the C(4, 2) = 6 interleavings only xxyy and yyxx reach it.
        var ks = KolmogorovSmirnov.Test([1, 2], [3, 4]);
        Assert.Equal(1, ks.Statistic);
        Assert.Equal(1 / 3.0, ks.PValue, 12);
        Assert.True(ks.Exact);
        // x = {1, 3}, y = {2, 4}: D = 1/2, which every interleaving reaches at its first step.
        Assert.Equal(1, KolmogorovSmirnov.Test([1, 3], [2, 4]).PValue, 12);
    }

    [Fact]
    public void KsMatchesScipyExact()
    {
        // scipy.stats.ks_2samp(a, b, method="exact"): statistic 0.5238095238095238, p 0.2773892773892773
        var ks = KolmogorovSmirnov.Test([0.1, 0.5, 0.9, 1.3, 2.2, 0.7], [0.4, 1.0, 1.1, 1.6, 2.5, 3.0, 2.9]);
        Assert.Equal(0.5238095238095238, ks.Statistic, 12);
        Assert.Equal(0.2773892773892773, ks.PValue, 10);

        // 300 and 400 quasi-random points: statistic 0.1375, p 0.0027919148353457986
        double[] x = [.. Enumerable.Range(1, 300).Select(i => i * 0.6180339887 % 1)];
        double[] y = [.. Enumerable.Range(1, 400).Select(j => j * 0.41421356237 % 1 * 1.1 + 0.05)];
        var large = KolmogorovSmirnov.Test(x, y);
        Assert.Equal(0.1375, large.Statistic, 12);
        Assert.Equal(0.0027919148353457986, large.PValue, 8);
        // Smirnov's series with Stephens's correction, summed by hand: 0.002693921118675199
        Assert.Equal(0.002693921118675199, KolmogorovSmirnov.AsymptoticPValue(300, 400, large.Statistic), 10);
    }

    [Fact]
    public void KsOfASampleWithItselfIsZeroWithPValueOne()
    {
        double[] a = [0.3, 0.1, 0.4, 0.1, 0.5, 0.9, 0.2, 0.6];
        var ks = KolmogorovSmirnov.Test(a, a);
        Assert.Equal(0, ks.Statistic);
        Assert.Equal(1, ks.PValue);
    }

    [Fact]
    public void CalibrationIsScipysMidRankPercentileOfScore()
    {
        // scipy.stats.percentileofscore([0.1, 0.5, 0.5, 0.7, 0.9], s, kind="mean") / 100 for s = 0.2, 0.5, 1.0, -1, 0.7
        Assert.Equal([0.2, 0.4, 1.0, 0.0, 0.7], NonMemberCalibration.Percentiles([0.2, 0.5, 1.0, -1, 0.7], [0.1, 0.5, 0.5, 0.7, 0.9]));
        Assert.Throws<LetheException>(() => NonMemberCalibration.Percentiles([double.NaN], [0.1]));
        Assert.Throws<LetheException>(() => NonMemberCalibration.Percentiles([0.5], [0.1, double.NaN, 0.9]));
    }

    /// <summary>Scores of one attack drawn per group from normal distributions, every score moved by <paramref name="shift"/>.</summary>
    static MembershipScores Drawn(string model, int seed, double retainMean, double shift, int attacks = 1)
    {
        var random = new Random(seed);
        double[] Draw(int n, double mean) => [.. Enumerable.Range(0, n).Select(_ =>
            mean + shift + Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))];
        return MembershipScores.Create(model, [.. Enumerable.Range(0, 60)], [.. Enumerable.Range(60, 300)], [.. Enumerable.Range(0, 1000)],
            [.. new[] { "head/x", "backbone/x" }.Take(attacks).Select(name => new AttackScores(name, 0, Draw(60, 0), Draw(300, retainMean), Draw(1000, 0)))]);
    }

    [Fact]
    public void AModelWhoseScoresAllShiftedMatchesRetrainingOnCalibratedScoresAndAFlattenedOneDoesNot()
    {
        var retrained = Drawn("retrained", 1, retainMean: 0.8, shift: 0);
        // Another exact retraining: the same distributions, every score 0.6 higher (a model's scale of scores drifts).
        var again = RetrainingComparison.Of(Drawn("again", 2, retainMean: 0.8, shift: 0.6), retrained, ["head/x"]);
        var a = again["head/x"];
        Assert.True(a.NonMember.PValue < 1e-6, $"raw non-member KS p = {a.NonMember.PValue}");
        Assert.True(a.Retain.PValue < 0.05 / 3, $"raw retain KS p = {a.Retain.PValue}");
        Assert.True(again.Matches, again.Reason);
        Assert.Equal(3, a.Tests.Count());

        // A model that erased every member's signal: retained members scored like non-members.
        var flattened = RetrainingComparison.Of(Drawn("flattened", 3, retainMean: 0, shift: 0), retrained, ["head/x"]);
        Assert.False(flattened.Matches);
        Assert.Contains("calibrated retain KS", flattened.Reason);
        Assert.True(flattened["head/x"].CalibratedRetain.Statistic > 0.2);
        var f = flattened["head/x"];
        Assert.Equal((f.CalibratedForget.Statistic + f.CalibratedRetain.Statistic + Math.Abs(f.RetainedOverForgotten.Auc - f.RetrainedRetainedOverForgotten.Auc) + 0.1) / 4,
            Tuning.Distance(flattened, utility: 0.5, retrainedUtility: 0.6), 12);
        Assert.Equal(0, Tuning.Distance(RetrainingComparison.Of(retrained, retrained, ["head/x"]), 0.6, 0.6));

        // Two verdict attacks: each membership term is their mean, the utility term counted once.
        var two = RetrainingComparison.Of(Drawn("flattened", 3, retainMean: 0, shift: 0, attacks: 2), Drawn("retrained", 1, retainMean: 0.8, shift: 0, attacks: 2), ["head/x", "backbone/x"]);
        double Terms(AttackComparison a) => a.CalibratedForget.Statistic + a.CalibratedRetain.Statistic + Math.Abs(a.RetainedOverForgotten.Auc - a.RetrainedRetainedOverForgotten.Auc);
        Assert.Equal(((Terms(two["head/x"]) + Terms(two["backbone/x"])) / 2 + 0.2) / 4, Tuning.Distance(two, 0.4, 0.6), 12);
    }

    [Fact]
    public void DeLongMatchesHandComputedPlacements()
    {
        // placements computed by hand in Python (O(nm) loops); the AUC also equals sklearn's roc_auc_score
        var auc = AucInterval.Of([0.9, 0.8, 0.4], [0.5, 0.3, 0.2, 0.8]);
        Assert.Equal(0.7916666666666666, auc.Auc, 12);
        Assert.Equal(0.19543398999264291, auc.StandardError, 12);
        Assert.Equal(Math.Max(0, auc.Auc - 1.959963984540054 * auc.StandardError), auc.Low, 12);
        Assert.Equal(1, auc.High); // clipped

        var difference = AucInterval.Paired([0.9, 0.8, 0.4], [0.5, 0.3, 0.2, 0.8], [0.7, 0.9, 0.3], [0.6, 0.1, 0.2, 0.5]);
        Assert.Equal(-0.04166666666666674, difference.Difference, 12);
        Assert.Equal(0.05892556509887891, difference.StandardError, 12);
        Assert.Equal(0.47950012218695237, difference.PValue, 6);
    }

    [Fact]
    public void MeanIntervalUsesStudentT()
    {
        // scipy.stats.t.ppf(0.975, [1, 2, 3, 10, 30, 40, 100])
        Assert.Equal(12.70620474, MeanInterval.TQuantile(1), 3);
        Assert.Equal(4.30265273, MeanInterval.TQuantile(2), 3);
        Assert.Equal(3.18244631, MeanInterval.TQuantile(3), 3);
        Assert.Equal(2.22813885, MeanInterval.TQuantile(10), 3);
        Assert.Equal(2.04227246, MeanInterval.TQuantile(30), 3);
        Assert.Equal(2.02107538, MeanInterval.TQuantile(40), 3);
        Assert.Equal(1.98397152, MeanInterval.TQuantile(100), 3);
        // 1, 2, 3: mean 2, sd 1, half-width 4.303 / sqrt 3
        Assert.Equal(4.30265273 / Math.Sqrt(3), MeanInterval.HalfWidth([1, 2, 3])!.Value, 3);
        Assert.Null(MeanInterval.HalfWidth([1]));
    }

    [Fact]
    public void IntervalOfAKnownDistributionCoversItsMeanAsOftenAsItSays()
    {
        // 2,000 samples of 3 draws from N(0, 1): the 95% t interval should cover 0 in about 95% of them.
        var random = new Random(7);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var covered = 0;
        for (var i = 0; i < 2000; i++)
        {
            double[] draws = [Normal(), Normal(), Normal()];
            if (Math.Abs(draws.Average()) <= MeanInterval.HalfWidth(draws)!.Value) covered++;
        }
        Assert.InRange(covered / 2000.0, 0.935, 0.965);
    }
}
