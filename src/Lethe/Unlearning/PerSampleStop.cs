using Lethe.Audits;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Losses;
using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>
/// Per-sample stopping against calibration non-members (docs/targeted-unlearning.md). Retraining leaves a forgotten
/// sample looking like any unseen one: its attack score falls somewhere in the non-members' distribution, and the forget
/// set as a whole is spread over it like a sample of non-members. So the k-th lowest of n forgotten samples is given the
/// target quantile (k + 1/2) / n of the non-members' scores (the nearest uniform spread, which moves no sample farther
/// than it must), and a sample stays in the penalty only while its percentile lies above its target by more than the
/// tolerance. A sample already at or below its target is never pushed lower.
/// </summary>
public static class PerSampleStop
{
    /// <summary>How far above its target quantile a sample may sit and count as reached (percentile points / 100).</summary>
    public const double Tolerance = 0.05;

    /// <summary>Augmented views per sample for an encoder's score (the audit uses 10).</summary>
    public const int Views = 8;

    /// <summary>
    /// For each forgotten sample, whether its score still stands out from the non-members': its percentile among
    /// <paramref name="nonMembers"/> (mid-rank, as the audit calibrates) is above its target quantile plus
    /// <paramref name="tolerance"/>. Higher scores are more member-like.
    /// </summary>
    public static bool[] StillStandingOut(IReadOnlyList<double> forget, IReadOnlyList<double> nonMembers, double tolerance = Tolerance)
    {
        var percentiles = NonMemberCalibration.Percentiles(forget, nonMembers);
        var order = Enumerable.Range(0, percentiles.Length).OrderBy(i => percentiles[i]).ThenBy(i => i).ToArray();
        var standing = new bool[percentiles.Length];
        for (var k = 0; k < order.Length; k++)
            standing[order[k]] = percentiles[order[k]] > (k + 0.5) / order.Length + tolerance;
        return standing;
    }

    /// <summary>
    /// The scores the verdict's attacks read, one array per attack signal, for <paramref name="ids"/>: an encoder's view
    /// similarity (EncoderMI's threshold attack) on the head and on the backbone; a classifier's negated loss. Evaluation
    /// mode, no gradient; the same <paramref name="seed"/> draws the same views.
    /// </summary>
    public static double[][] Scores(Learner model, ImageSet images, IReadOnlyList<int> ids, long seed, Device device, int chunk = 256) => model.Evaluating(() =>
    {
        using var noGrad = no_grad();
        if (model is not ContrastiveLearner encoder)
            return new[] { ClassifierSignals.Compute(model.forward, images, ids, 1, device, chunk).Loss.Select(l => -l).ToArray() };
        var head = new List<double>();
        var backbone = new List<double>();
        using var generator = new Generator((ulong)seed);
        for (var start = 0; start < ids.Count; start += chunk)
        {
            using var scope = NewDisposeScope();
            var clean = images.Batch([.. ids.Skip(start).Take(chunk)], device);
            var (backboneViews, headViews) = EncoderSignals.Views(encoder, clean, encoder.Augmentation, Views, generator);
            head.AddRange(ViewSimilarity.Mean(headViews).to(ScalarType.Float64).cpu().data<double>());
            backbone.AddRange(ViewSimilarity.Mean(backboneViews).to(ScalarType.Float64).cpu().data<double>());
        }
        return new[] { head.ToArray(), backbone.ToArray() };
    });
}
