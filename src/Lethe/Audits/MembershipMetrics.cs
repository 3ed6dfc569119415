namespace Lethe.Audits;

/// <summary>One point of a ROC curve: the rates when every score at or above some threshold is called a member.</summary>
public sealed record RocPoint(double Fpr, double Tpr);

/// <summary>
/// How well one attack separates members from non-members. Accuracy and precision are taken at equal priors
/// (docs/membership-metrics.md): accuracy = (TPR + TNR) / 2 and precision = TPR / (TPR + FPR), so that a forget set
/// of 51 scored against 128 non-members reads like the paper's balanced evaluation. Recall is the TPR.
/// </summary>
public sealed record AttackMetrics(
    double Accuracy,
    double Precision,
    double Recall,
    double Auc,
    double TprAt1PercentFpr,
    double TprAt01PercentFpr,
    double Threshold,
    int Members,
    int NonMembers,
    IReadOnlyList<RocPoint> Roc);

public static class MembershipMetrics
{
    /// <summary>
    /// The ROC curve from (0, 0) to (1, 1), one point per distinct score (tied scores move together, so a
    /// tie between a member and a non-member is a diagonal step, which the AUC counts as one half).
    /// </summary>
    public static RocPoint[] Roc(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers)
    {
        Check(members, nonMembers);
        return [new RocPoint(0, 0), .. Sweep(members, nonMembers).Select(step => new RocPoint(step.Fpr, step.Tpr))];
    }

    /// <summary>
    /// Lowers the threshold through the distinct scores, highest first: after each, the rates when every score at or
    /// above it is called a member, and the next lower distinct score (null after the lowest).
    /// </summary>
    static IEnumerable<(double Score, double? Next, double Tpr, double Fpr)> Sweep(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers)
    {
        var all = members.Select(s => (Score: s, Member: true)).Concat(nonMembers.Select(s => (Score: s, Member: false)))
            .OrderByDescending(p => p.Score).ToArray();
        int tp = 0, fp = 0;
        for (var i = 0; i < all.Length;)
        {
            var j = i;
            for (; j < all.Length && all[j].Score.Equals(all[i].Score); j++)
            {
                if (all[j].Member) tp++;
                else fp++;
            }
            yield return (all[i].Score, j < all.Length ? all[j].Score : null, (double)tp / members.Count, (double)fp / nonMembers.Count);
            i = j;
        }
    }

    /// <summary>The highest TPR among thresholds whose FPR is at most <paramref name="maxFpr"/> (LiRA's convention).</summary>
    public static double TprAtFpr(IReadOnlyList<RocPoint> roc, double maxFpr) =>
        roc.Where(p => p.Fpr <= maxFpr + 1e-12).Max(p => p.Tpr);

    /// <summary>
    /// The threshold that maximises balanced accuracy on known members and non-members (a calibration set or a
    /// shadow model's): midway between two neighbouring distinct scores; of equally good thresholds, the highest.
    /// </summary>
    public static double BestThreshold(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers)
    {
        Check(members, nonMembers);
        // Calling no one a member scores 1/2; ties keep the earlier, higher threshold.
        var best = members.Concat(nonMembers).Max() + 1;
        var bestAccuracy = 0.5;
        foreach (var step in Sweep(members, nonMembers))
        {
            var accuracy = (step.Tpr + 1 - step.Fpr) / 2;
            if (accuracy <= bestAccuracy + 1e-12) continue;
            bestAccuracy = accuracy;
            best = step.Next is { } next ? next + (step.Score - next) / 2 : step.Score - 1;
        }
        return best;
    }

    /// <summary>Scores an attack that calls a sample a member when its score is at or above <paramref name="threshold"/>.</summary>
    public static AttackMetrics Evaluate(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers, double threshold)
    {
        Check(members, nonMembers);
        var tpr = (double)members.Count(s => s >= threshold) / members.Count;
        var fpr = (double)nonMembers.Count(s => s >= threshold) / nonMembers.Count;
        var roc = Roc(members, nonMembers);
        return new AttackMetrics(
            Accuracy: (tpr + 1 - fpr) / 2,
            Precision: tpr + fpr > 0 ? tpr / (tpr + fpr) : 0,
            Recall: tpr,
            Auc: RocAuc.Compute(members, nonMembers),
            TprAt1PercentFpr: TprAtFpr(roc, 0.01),
            TprAt01PercentFpr: TprAtFpr(roc, 0.001),
            Threshold: threshold,
            Members: members.Count,
            NonMembers: nonMembers.Count,
            Roc: roc);
    }

    static void Check(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers)
    {
        if (members.Count == 0 || nonMembers.Count == 0) throw new ArgumentException("membership metrics need at least one member and one non-member score");
        if (members.Concat(nonMembers).Any(s => !double.IsFinite(s))) throw new LetheException("a membership score is NaN or infinite: the model's outputs are not finite");
    }
}
