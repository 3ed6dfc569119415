using Lethe.Audits;

namespace Lethe.Tests;

public class MembershipMetricsTests
{
    [Fact]
    public void MetricsAtAThresholdMatchHandCounts()
    {
        // Threshold 0.5: members 0.9, 0.6 and 0.5 are called members (TPR 3/4), non-member 0.7 is too (FPR 1/5).
        double[] members = [0.9, 0.6, 0.5, 0.2];
        double[] nonMembers = [0.7, 0.4, 0.3, 0.1, 0.05];
        var m = MembershipMetrics.Evaluate(members, nonMembers, 0.5);
        Assert.Equal(0.75, m.Recall, 12);
        Assert.Equal((0.75 + 0.8) / 2, m.Accuracy, 12);
        Assert.Equal(0.75 / (0.75 + 0.2), m.Precision, 12);
        // Pairs won by members: 0.9 beats 5, 0.6 beats 4, 0.5 beats 4, 0.2 beats 2 -> 15 of 20.
        Assert.Equal(15 / 20.0, m.Auc, 12);
        Assert.Equal(4, m.Members);
        Assert.Equal(5, m.NonMembers);
    }

    [Fact]
    public void TiesCountOneHalfInTheAucAndMoveTogetherOnTheRoc()
    {
        double[] members = [0.5, 0.5];
        double[] nonMembers = [0.5, 0.1];
        // Member-vs-non-member pairs: two ties (1/2 each) and two wins -> 3 / 4.
        var m = MembershipMetrics.Evaluate(members, nonMembers, 0.5);
        Assert.Equal(0.75, m.Auc, 12);
        Assert.Equal([new RocPoint(0, 0), new RocPoint(0.5, 1), new RocPoint(1, 1)], m.Roc);
        // No threshold separates the tie, so at zero FPR nothing is found.
        Assert.Equal(0, m.TprAt1PercentFpr);
    }

    [Fact]
    public void RocAreaByTrapezoidsEqualsTheRankAuc()
    {
        var random = new Random(3);
        var members = Enumerable.Range(0, 40).Select(_ => Math.Round(random.NextDouble() + 0.3, 1)).ToArray();
        var nonMembers = Enumerable.Range(0, 50).Select(_ => Math.Round(random.NextDouble(), 1)).ToArray();
        var roc = MembershipMetrics.Roc(members, nonMembers);
        var area = roc.Zip(roc.Skip(1)).Sum(p => (p.Second.Fpr - p.First.Fpr) * (p.First.Tpr + p.Second.Tpr) / 2);
        Assert.Equal(RocAuc.Compute(members, nonMembers), area, 12);
        Assert.Equal(new RocPoint(1, 1), roc[^1]);
    }

    [Fact]
    public void TprAtLowFprTakesTheBestPointWithinTheBudget()
    {
        // 100 non-members 0.00 .. 0.99; members: 3 above every non-member, 2 between the top two non-members, 1 in the middle.
        var nonMembers = Enumerable.Range(0, 100).Select(i => i / 100.0).ToArray();
        double[] members = [2, 3, 4, 0.985, 0.985, 0.5];
        var roc = MembershipMetrics.Roc(members, nonMembers);
        // No false positive allowed: only the three top members.
        Assert.Equal(3 / 6.0, MembershipMetrics.TprAtFpr(roc, 0.001), 12);
        Assert.Equal(3 / 6.0, MembershipMetrics.TprAtFpr(roc, 0.005), 12);
        // One false positive (0.99) allowed at 1% FPR: the tied pair at 0.985 joins.
        Assert.Equal(5 / 6.0, MembershipMetrics.TprAtFpr(roc, 0.01), 12);
        Assert.Equal(5 / 6.0, MembershipMetrics.TprAtFpr(roc, 0.4), 12);
        Assert.Equal(1, MembershipMetrics.TprAtFpr(roc, 0.5), 12);
    }

    [Fact]
    public void BestThresholdMaximisesBalancedAccuracyOnTheKnownSamples()
    {
        double[] members = [0.9, 0.8, 0.7];
        double[] nonMembers = [0.6, 0.75, 0.1, 0.2];
        var threshold = MembershipMetrics.BestThreshold(members, nonMembers);
        // Calling 0.9, 0.8 members (threshold between 0.75 and 0.8) gives (2/3 + 1)/2; including 0.75 and 0.7 gives (1 + 3/4)/2 = 0.875 > 0.833.
        Assert.Equal(0.65, threshold, 12);
        Assert.Equal(0.875, MembershipMetrics.Evaluate(members, nonMembers, threshold).Accuracy, 12);
    }

    [Fact]
    public void SeparableScoresGiveAucOneAndAPerfectThreshold()
    {
        double[] members = [5, 6, 7];
        double[] nonMembers = [1, 2, 3];
        var threshold = MembershipMetrics.BestThreshold(members, nonMembers);
        Assert.Equal(4, threshold, 12);
        var m = MembershipMetrics.Evaluate(members, nonMembers, threshold);
        Assert.Equal(1, m.Auc);
        Assert.Equal(1, m.Accuracy);
        Assert.Equal(1, m.Precision);
        Assert.Equal(1, m.TprAt01PercentFpr);
    }

    [Fact]
    public void NonFiniteScoresAreRefused()
    {
        Assert.Throws<LetheException>(() => MembershipMetrics.Evaluate([double.NaN], [0.1], 0));
        Assert.Throws<ArgumentException>(() => MembershipMetrics.Roc([], [0.1]));
    }
}
