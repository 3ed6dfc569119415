using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Runtime;
using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>
/// The simplest EncoderMI, as a training monitor: members' augmented views agree more with each other than
/// non-members' do. Reports, on the backbone features and on the projection-head output, the members' and
/// non-members' mean pairwise cosine similarity of <c>views</c> views and the AUC of that score, plus the AUC
/// of the paper's confidence signal (top-1 softmax probability of the output on the clean image).
/// </summary>
public sealed record MembershipMonitorResult(
    double BackboneSimilarityAuc,
    double HeadSimilarityAuc,
    double BackboneConfidenceAuc,
    double HeadConfidenceAuc,
    double MemberHeadSimilarity,
    double NonMemberHeadSimilarity)
{
    /// <summary>The strongest of the four signals: what an attacker would use.</summary>
    public double BestAuc => new[] { BackboneSimilarityAuc, HeadSimilarityAuc, BackboneConfidenceAuc, HeadConfidenceAuc }.Max();
}

public static class MembershipMonitor
{
    public static MembershipMonitorResult Measure(
        ContrastiveModel model, ImageSet members, IReadOnlyList<int> memberIds, ImageSet nonMembers, IReadOnlyList<int> nonMemberIds,
        ContrastiveAugmentation augmentation, int views, long seed, Device device)
    {
        if (views < 2) throw new LetheException($"the membership monitor needs at least 2 views, not {views}");
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var generator = new Generator((ulong)Seeds.Derive(seed, "monitor/views"));
            var m = Scores(model, members, memberIds, augmentation, views, generator, device);
            var n = Scores(model, nonMembers, nonMemberIds, augmentation, views, generator, device);
            return new MembershipMonitorResult(
                RocAuc.Compute(m.BackboneSimilarity, n.BackboneSimilarity),
                RocAuc.Compute(m.HeadSimilarity, n.HeadSimilarity),
                RocAuc.Compute(m.BackboneConfidence, n.BackboneConfidence),
                RocAuc.Compute(m.HeadConfidence, n.HeadConfidence),
                m.HeadSimilarity.Average(),
                n.HeadSimilarity.Average());
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Per-image scores: mean pairwise cosine similarity of the views, and top-1 softmax probability of the clean image.</summary>
    public sealed record ImageScores(double[] BackboneSimilarity, double[] HeadSimilarity, double[] BackboneConfidence, double[] HeadConfidence);

    public static ImageScores Scores(
        ContrastiveModel model, ImageSet images, IReadOnlyList<int> ids, ContrastiveAugmentation augmentation, int views, Generator generator, Device device, int chunk = 128)
    {
        var backboneSimilarity = new List<double>();
        var headSimilarity = new List<double>();
        var backboneConfidence = new List<double>();
        var headConfidence = new List<double>();
        using var noGrad = no_grad();
        for (var start = 0; start < ids.Count; start += chunk)
        {
            using var scope = NewDisposeScope();
            var batchIds = ids.Skip(start).Take(chunk).ToArray();
            var clean = images.Batch(batchIds, device);
            var features = model.Features(clean);
            var head = model.Projector.forward(features);
            backboneConfidence.AddRange(TopProbability(features));
            headConfidence.AddRange(TopProbability(head));
            Tensor? backboneSum = null, headSum = null;
            for (var v = 0; v < views; v++)
            {
                var view = augmentation.Apply(clean, generator);
                var f = model.Features(view);
                var h = nn.functional.normalize(model.Projector.forward(f), dim: 1);
                f = nn.functional.normalize(f, dim: 1);
                backboneSum = backboneSum is null ? f : backboneSum + f;
                headSum = headSum is null ? h : headSum + h;
            }
            backboneSimilarity.AddRange(MeanPairwise(backboneSum!, views));
            headSimilarity.AddRange(MeanPairwise(headSum!, views));
        }
        return new([.. backboneSimilarity], [.. headSimilarity], [.. backboneConfidence], [.. headConfidence]);
    }

    // For unit vectors, the sum over pairs i < j of v_i . v_j is (|sum v|^2 - n) / 2.
    static double[] MeanPairwise(Tensor sumOfUnitVectors, int views) =>
        ((sumOfUnitVectors.pow(2).sum(1) - views) / (views * (views - 1.0))).to(ScalarType.Float64).cpu().data<double>().ToArray();

    static double[] TopProbability(Tensor outputs) =>
        nn.functional.softmax(outputs, 1).amax([1]).to(ScalarType.Float64).cpu().data<double>().ToArray();
}
