using Lethe.Audits;

namespace Lethe.Tests;

/// <summary>
/// LiRA on synthetic Gaussian scores whose ground truth is known: each sample has its own difficulty, a never-seen
/// score ~ N(difficulty, 1) and a forgotten one ~ N(difficulty + gap, 1). The optimal test then has TPR at FPR a of
/// 1 - Phi(Phi^-1(1 - a) - gap) and AUC Phi(gap / sqrt 2) (values from scipy.stats.norm).
/// </summary>
public class LikelihoodRatioTests
{
    /// <summary>
    /// <paramref name="models"/> reference models in complementary pairs over <paramref name="samples"/> samples; half of
    /// each model's members are forgotten.
    /// </summary>
    static List<PoolScores> Synthetic(int models, int samples, double gap, int seed)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var difficulty = Enumerable.Range(0, samples).Select(_ => 2 * Normal()).ToArray();
        var result = new List<PoolScores>();
        for (var pair = 0; pair < models / 2; pair++)
        {
            var inFirst = Enumerable.Range(0, samples).Select(_ => random.Next(2) == 0).ToArray();
            foreach (var first in new[] { true, false })
            {
                var roles = new PoolRole[samples];
                var scores = new double[samples];
                for (var j = 0; j < samples; j++)
                {
                    roles[j] = inFirst[j] != first ? PoolRole.Unseen : random.Next(2) == 0 ? PoolRole.Forgotten : PoolRole.Retained;
                    var shift = roles[j] switch { PoolRole.Forgotten => gap, PoolRole.Retained => gap + 1, _ => 0 };
                    scores[j] = difficulty[j] + shift + Normal();
                }
                result.Add(new PoolScores(roles, scores));
            }
        }
        return result;
    }

    [Theory]
    [InlineData(2.0, 0.37208058543549444, 0.13780541289830034, 0.9213503964748574)]
    [InlineData(1.0, 0.09236224807369403, 0.01829846840565661, 0.7602499389065233)]
    public void TprAtLowFprMatchesTheOptimalTestOnGaussianScores(double gap, double tprAt1, double tprAt01, double auc)
    {
        var result = LikelihoodRatioAttack.Evaluate("synthetic", Synthetic(models: 400, samples: 300, gap, seed: 7));
        Assert.Equal(400, result.Models);
        Assert.Equal(60_000, result.Negatives);
        Assert.InRange(result.Positives, 28_000, 32_000);
        Assert.Equal(60, result.FalsePositivesAllowed(0.001));
        Assert.Equal(auc, result.Auc, 0.01);
        Assert.Equal(tprAt1, result.TprAt1PercentFpr, 0.02);
        Assert.Equal(tprAt01, result.TprAt01PercentFpr, 0.02);
    }

    [Fact]
    public void ForgottenScoresLikeNeverSeenOnesGiveChance()
    {
        var result = LikelihoodRatioAttack.Evaluate("synthetic", Synthetic(models: 200, samples: 300, gap: 0, seed: 11));
        Assert.Equal(0.5, result.Auc, 0.02);
        Assert.InRange(result.TprAt1PercentFpr, 0, 0.025);
    }

    [Fact]
    public void EachTargetIsJudgedByFitsOfTheOtherModelsOnly()
    {
        // Roles rotate so that every sample has at least two observations of each hypothesis in every leave-one-out set; the fits
        // are then plain per-sample means and variances pooled over samples, recomputed here from scratch for every target.
        const int models = 9, samples = 12;
        var random = new Random(3);
        var pool = Enumerable.Range(0, models).Select(m => new PoolScores(
            [.. Enumerable.Range(0, samples).Select(j => (PoolRole)((m + j) % 3))],
            [.. Enumerable.Range(0, samples).Select(j => j + ((m + j) % 3 == 2 ? 1.5 : 0) + random.NextDouble())])).ToList();
        var result = LikelihoodRatioAttack.Evaluate("rotating", pool);

        List<double> positives = [], negatives = [];
        for (var t = 0; t < models; t++)
        {
            var others = pool.Where((_, m) => m != t).ToArray();
            (double[] Means, double Sd) Fit(PoolRole role)
            {
                var means = new double[samples];
                double residual = 0;
                var freedom = 0;
                for (var j = 0; j < samples; j++)
                {
                    var x = others.Where(o => o.Roles[j] == role).Select(o => o.Scores[j]).ToArray();
                    means[j] = x.Average();
                    residual += x.Sum(v => (v - means[j]) * (v - means[j]));
                    freedom += x.Length - 1;
                }
                return (means, Math.Sqrt(residual / freedom));
            }
            var (inMeans, inSd) = Fit(PoolRole.Forgotten);
            var (outMeans, outSd) = Fit(PoolRole.Unseen);
            for (var j = 0; j < samples; j++)
            {
                var s = pool[t].Scores[j];
                var ratio = -0.5 * Math.Pow((s - inMeans[j]) / inSd, 2) - Math.Log(inSd) + 0.5 * Math.Pow((s - outMeans[j]) / outSd, 2) + Math.Log(outSd);
                if (pool[t].Roles[j] == PoolRole.Forgotten) positives.Add(ratio);
                else if (pool[t].Roles[j] == PoolRole.Unseen) negatives.Add(ratio);
            }
        }
        Assert.Equal(positives.Count, result.Positives);
        Assert.Equal(negatives.Count, result.Negatives);
        for (var i = 0; i < positives.Count; i++) Assert.Equal(positives[i], result.PositiveScores[i], 9);
        for (var i = 0; i < negatives.Count; i++) Assert.Equal(negatives[i], result.NegativeScores[i], 9);
    }

    [Fact]
    public void FewModelsLeaveSomeSamplesWithoutAForgottenFitAndStillGiveFiniteScores()
    {
        var result = LikelihoodRatioAttack.Evaluate("few", Synthetic(models: 4, samples: 200, gap: 2, seed: 5));
        Assert.All(result.PositiveScores.Concat(result.NegativeScores), s => Assert.True(double.IsFinite(s)));
        Assert.InRange(result.Auc, 0.6, 1);
    }

    [Fact]
    public void BadReferenceSetsAreRefused()
    {
        var two = Synthetic(models: 2, samples: 10, gap: 1, seed: 1);
        Assert.Contains("at least 3 reference models", Assert.Throws<LetheException>(() => LikelihoodRatioAttack.Evaluate("x", two)).Message);
        var models = Synthetic(models: 4, samples: 10, gap: 1, seed: 1);
        models[1].Scores[3] = double.NaN;
        Assert.Contains("not finite", Assert.Throws<LetheException>(() => LikelihoodRatioAttack.Evaluate("x", models)).Message);
        var unequal = Synthetic(models: 4, samples: 10, gap: 1, seed: 1);
        unequal[2] = new PoolScores([PoolRole.Unseen], [0.0]);
        Assert.Contains("same pool", Assert.Throws<LetheException>(() => LikelihoodRatioAttack.Evaluate("x", unequal)).Message);
    }

    [Fact]
    public void ScoreTransformsMatchTheirClosedForms()
    {
        // log(p / (1 - p)) for p = exp(-loss), from Python's math.expm1 and math.log.
        Assert.Equal(18.420680738952363, LikelihoodRatioAttack.LogitOfLoss(1e-8), 9);
        Assert.Equal(6.9072552373154705, LikelihoodRatioAttack.LogitOfLoss(1e-3), 10);
        Assert.Equal(-0.013658997191614786, LikelihoodRatioAttack.LogitOfLoss(0.7), 12);
        Assert.Equal(0.5493061443340548, LikelihoodRatioAttack.FisherZ(0.5), 14);
        Assert.True(double.IsFinite(LikelihoodRatioAttack.FisherZ(1.0)));
    }
}
