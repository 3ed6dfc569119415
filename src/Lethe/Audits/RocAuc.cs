namespace Lethe.Audits;

/// <summary>Area under the ROC curve of scores where members should score higher than non-members.</summary>
public static class RocAuc
{
    /// <summary>
    /// The probability that a random member outscores a random non-member, ties counting one half
    /// (the Mann-Whitney U statistic over the product of the counts).
    /// </summary>
    public static double Compute(IReadOnlyList<double> members, IReadOnlyList<double> nonMembers)
    {
        if (members.Count == 0 || nonMembers.Count == 0) throw new ArgumentException("AUC needs at least one member and one non-member score");
        var all = members.Select(s => (Score: s, Member: true)).Concat(nonMembers.Select(s => (Score: s, Member: false)))
            .OrderBy(p => p.Score).ToArray();
        double memberRankSum = 0;
        for (var i = 0; i < all.Length;)
        {
            var j = i;
            while (j < all.Length && all[j].Score.Equals(all[i].Score)) j++;
            var averageRank = (i + 1 + j) / 2.0; // ranks i+1 .. j share their mean
            for (var k = i; k < j; k++)
            {
                if (all[k].Member) memberRankSum += averageRank;
            }
            i = j;
        }
        var u = memberRankSum - members.Count * (members.Count + 1) / 2.0;
        return u / ((double)members.Count * nonMembers.Count);
    }
}
