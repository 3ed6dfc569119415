using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Training;
using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>What a pool sample was to one reference model: never seen, trained on and kept, or trained on and then forgotten.</summary>
public enum PoolRole : byte
{
    Unseen,
    Retained,
    Forgotten,
}

/// <summary>One reference model's scores of every pool sample, with each sample's role in it.</summary>
public sealed record PoolScores(PoolRole[] Roles, double[] Scores)
{
    public int Count => Scores.Length;
}

/// <summary>
/// A likelihood-ratio audit's outcome: forgotten samples (positives) told from never-seen ones (negatives), every
/// reference model serving once as the target, its fits taken from the others.
/// </summary>
public sealed record LikelihoodRatioResult(
    string Attack, int Models, int Positives, int Negatives, double Auc, double TprAt1PercentFpr, double TprAt01PercentFpr,
    double[] PositiveScores, double[] NegativeScores)
{
    /// <summary>How many false positives the FPR allows among these negatives (0 means the figure is TPR at no false positive).</summary>
    public int FalsePositivesAllowed(double fpr) => (int)Math.Floor(fpr * Negatives + 1e-9);
}

/// <summary>
/// LiRA (Carlini et al., S&amp;P 2022) in the unlearning form of Hayes et al. (2024), docs/lira.md. Reference models
/// are trained on halves of a sample pool and part of each half is unlearned. For a target model and a pool sample,
/// the sample's scores under the other models where it was forgotten and where it was never seen are each fitted as a
/// Gaussian (per-sample means, one variance per role pooled over samples, as LiRA advises for few models); the
/// target's score is then scored by the log-likelihood ratio of "forgotten" against "never seen".
/// </summary>
public static class LikelihoodRatioAttack
{
    /// <summary>
    /// Every model in turn as the target (leave one out): the log-likelihood ratios of its <paramref name="positive"/>
    /// samples and its never-seen ones, pooled. <paramref name="positive"/> is <see cref="PoolRole.Forgotten"/> for
    /// an unlearning audit; the same roles with the models before unlearning measure what there was to forget.
    /// </summary>
    public static LikelihoodRatioResult Evaluate(string attack, IReadOnlyList<PoolScores> models, PoolRole positive = PoolRole.Forgotten)
    {
        if (models.Count < 3) throw new LetheException($"LiRA needs at least 3 reference models (each target is fitted on the others), not {models.Count}");
        var n = models[0].Count;
        if (models.Any(m => m.Count != n || m.Roles.Length != n)) throw new LetheException("LiRA's reference models must score the same pool");
        if (models.SelectMany(m => m.Scores).Any(s => !double.IsFinite(s))) throw new LetheException("a LiRA score is not finite (a diverged model?)");
        var inSums = Sums.Of(models, positive);
        var outSums = Sums.Of(models, PoolRole.Unseen);
        List<double> positives = [], negatives = [];
        for (var t = 0; t < models.Count; t++)
        {
            var target = models[t];
            var fit = Fit(inSums.Without(target, positive), outSums.Without(target, PoolRole.Unseen));
            for (var j = 0; j < n; j++)
            {
                var role = target.Roles[j];
                if (role == positive) positives.Add(fit.LogRatio(j, target.Scores[j]));
                else if (role == PoolRole.Unseen) negatives.Add(fit.LogRatio(j, target.Scores[j]));
            }
        }
        if (positives.Count == 0 || negatives.Count == 0) throw new LetheException("LiRA found no forgotten or no never-seen samples in its reference models");
        var roc = MembershipMetrics.Roc(positives, negatives);
        return new LikelihoodRatioResult(
            attack, models.Count, positives.Count, negatives.Count, RocAuc.Compute(positives, negatives),
            MembershipMetrics.TprAtFpr(roc, 0.01), MembershipMetrics.TprAtFpr(roc, 0.001), [.. positives], [.. negatives]);
    }

    /// <summary>Per-sample Gaussian fits of the two hypotheses from the other models' scores.</summary>
    sealed record Fits(double[] InMean, double[] OutMean, double InSd, double OutSd)
    {
        public double LogRatio(int sample, double score) => LogNormal(score, InMean[sample], InSd) - LogNormal(score, OutMean[sample], OutSd);

        static double LogNormal(double x, double mean, double sd)
        {
            var z = (x - mean) / sd;
            return -0.5 * z * z - Math.Log(sd);
        }
    }

    /// <summary>Per-sample count, sum and sum of squares of one role's scores over a set of models.</summary>
    sealed record Sums(int[] Count, double[] Sum, double[] Squares)
    {
        public static Sums Of(IReadOnlyList<PoolScores> models, PoolRole role)
        {
            var n = models[0].Count;
            var s = new Sums(new int[n], new double[n], new double[n]);
            foreach (var m in models) s.Add(m, role, +1);
            return s;
        }

        /// <summary>These sums without <paramref name="model"/>'s contribution (the leave-one-out fit of its target turn).</summary>
        public Sums Without(PoolScores model, PoolRole role)
        {
            var s = new Sums((int[])Count.Clone(), (double[])Sum.Clone(), (double[])Squares.Clone());
            s.Add(model, role, -1);
            return s;
        }

        void Add(PoolScores model, PoolRole role, int sign)
        {
            for (var j = 0; j < model.Count; j++)
            {
                if (model.Roles[j] != role) continue;
                var x = model.Scores[j];
                Count[j] += sign;
                Sum[j] += sign * x;
                Squares[j] += sign * x * x;
            }
        }

        public double Mean(int j) => Sum[j] / Count[j];

        /// <summary>The within-sample variance pooled over samples seen at least twice; null when none is.</summary>
        public double? PooledVariance()
        {
            double residual = 0;
            long freedom = 0;
            for (var j = 0; j < Count.Length; j++)
            {
                if (Count[j] < 2) continue;
                residual += Math.Max(0, Squares[j] - Sum[j] * Sum[j] / Count[j]);
                freedom += Count[j] - 1;
            }
            return freedom > 0 ? residual / freedom : null;
        }
    }

    /// <summary>
    /// A sample without an observation under one hypothesis (few models make this common for "forgotten") takes its
    /// other mean shifted by the mean gap between the hypotheses over the samples that have both.
    /// </summary>
    static Fits Fit(Sums inside, Sums outside)
    {
        var n = inside.Count.Length;
        double gap = 0;
        var both = 0;
        for (var j = 0; j < n; j++)
        {
            if (inside.Count[j] == 0 || outside.Count[j] == 0) continue;
            gap += inside.Mean(j) - outside.Mean(j);
            both++;
        }
        if (both > 0)
        {
            gap /= both;
        }
        else
        {
            var inCount = inside.Count.Sum();
            var outCount = outside.Count.Sum();
            if (inCount == 0 || outCount == 0) throw new LetheException("LiRA needs reference models in which pool samples were forgotten and models that never saw them: train more reference models");
            gap = inside.Sum.Sum() / inCount - outside.Sum.Sum() / outCount;
        }
        var inMean = new double[n];
        var outMean = new double[n];
        for (var j = 0; j < n; j++)
        {
            (inMean[j], outMean[j]) = (inside.Count[j], outside.Count[j]) switch
            {
                ( > 0, > 0) => (inside.Mean(j), outside.Mean(j)),
                ( > 0, 0) => (inside.Mean(j), inside.Mean(j) - gap),
                (0, > 0) => (outside.Mean(j) + gap, outside.Mean(j)),
                // Seen by no other model (possible only with very few models): no per-sample fit, the global gap alone.
                _ => (gap, 0),
            };
        }
        var outVariance = outside.PooledVariance();
        var inVariance = inside.PooledVariance() ?? outVariance;
        outVariance ??= inVariance;
        if (outVariance is null) throw new LetheException("LiRA needs at least one pool sample scored by two reference models under the same role: train more reference models");
        const double floor = 1e-12; // identical scores would give a zero variance
        return new Fits(inMean, outMean, Math.Sqrt(Math.Max(inVariance!.Value, floor)), Math.Sqrt(Math.Max(outVariance.Value, floor)));
    }

    /// <summary>The attack names LiRA reports under, by model kind.</summary>
    public static string AttackName(bool classifier) => classifier ? $"{ClassifierAudit.Output}/lira" : "head/lira";

    /// <summary>
    /// Each pool sample's LiRA statistic under <paramref name="model"/>: for an encoder the Fisher z of EncoderMI's
    /// view similarity on the head, for a classifier the logit of the true class's probability (Carlini et al.'s
    /// log(p / (1 - p))). Both make the score closer to Gaussian than the bounded raw value. The same views every model.
    /// </summary>
    public static double[] Score(Learner model, Dataset data, IReadOnlyList<int> pool, TrainingSettings recipe, AuditSettings settings, IReadOnlyList<int> reference, Device device)
    {
        if (model is ContrastiveLearner encoder)
        {
            var signals = EncoderSignals.Compute(
                encoder, data.Train, pool, data.Test, reference, new ContrastiveAugmentation(recipe.Augmentation), settings.Views, settings.TopK,
                recipe.Temperature, Seeds.Derive(settings.Seed, "audit/views/lira"), device);
            return [.. signals.Head.Similarity.Select(FisherZ)];
        }
        var prediction = model.Evaluating(() => ClassifierSignals.Compute(model, data.Train, pool, settings.TopK, device));
        return [.. prediction.Loss.Select(LogitOfLoss)];
    }

    /// <summary>atanh of a cosine similarity, clamped away from ±1.</summary>
    public static double FisherZ(double similarity) => Math.Atanh(Math.Clamp(similarity, -1 + 1e-9, 1 - 1e-9));

    /// <summary>log(p / (1 - p)) for p = exp(-loss), computed without cancellation for p near 1.</summary>
    public static double LogitOfLoss(double loss)
    {
        var l = Math.Max(loss, 1e-300);
        // 1 - p = 1 - exp(-l) cancels for tiny l; there its series is exact to double precision.
        var oneMinusP = l < 1e-5 ? l - l * l / 2 + l * l * l / 6 : 1 - Math.Exp(-l);
        return -l - Math.Log(oneMinusP);
    }
}
