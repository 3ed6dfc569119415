using System.Text.Json.Serialization;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Losses;
using Lethe.Models;
using Lethe.Runtime;
using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>
/// What the training monitor measured, members against non-members. Encoders: the AUC of EncoderMI's view similarity
/// (the mean pairwise cosine similarity of the views) and of the top-1 softmax probability of the output on the clean
/// image, on the head and the backbone; <see cref="MemberScore"/> and <see cref="NonMemberScore"/> are the mean head
/// similarities. Classifiers: the AUC of the confidence (top-1 probability) and loss attacks; the scores are the mean
/// top-1 probabilities.
/// </summary>
public sealed record MembershipMonitorResult
{
    /// <summary>The top-1 probability of D: an encoder's head output, a classifier's logits.</summary>
    public double ConfidenceAuc { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? BackboneConfidenceAuc { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? HeadSimilarityAuc { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? BackboneSimilarityAuc { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? LossAuc { get; init; }

    public double MemberScore { get; init; }

    public double NonMemberScore { get; init; }

    /// <summary>One line for progress logs.</summary>
    public string Describe() => HeadSimilarityAuc is { } head
        ? $"AUC view similarity head {head:F3} backbone {BackboneSimilarityAuc:F3}, confidence head {ConfidenceAuc:F3}"
        : $"AUC confidence {ConfidenceAuc:F3} loss {LossAuc:F3}";
}

/// <summary>The simplest membership attacks, as a training monitor: nothing is fitted, the scores are ranked.</summary>
public static class MembershipMonitor
{
    public static MembershipMonitorResult Measure(Learner model, Dataset data, IReadOnlyList<int> memberIds, IReadOnlyList<int> nonMemberIds, long seed, Device device)
    {
        if (model is not ContrastiveLearner encoder)
        {
            var members = ClassifierSignals.Compute(model, data.Train, memberIds, 1, device);
            var nonMembers = ClassifierSignals.Compute(model, data.Test, nonMemberIds, 1, device);
            return new MembershipMonitorResult
            {
                ConfidenceAuc = RocAuc.Compute(members.Top1, nonMembers.Top1),
                LossAuc = RocAuc.Compute([.. members.Loss.Select(l => -l)], [.. nonMembers.Loss.Select(l => -l)]),
                MemberScore = members.Top1.Average(),
                NonMemberScore = nonMembers.Top1.Average(),
            };
        }
        var views = model.Recipe.MonitorViews;
        if (views < 2) throw new LetheException($"the membership monitor needs at least 2 views, not {views}");
        var augmentation = new ContrastiveAugmentation(model.Recipe.Augmentation);
        return model.Evaluating(() =>
        {
            using var generator = new Generator((ulong)Seeds.Derive(seed, "monitor/views"));
            var m = Scores(encoder, data.Train, memberIds, augmentation, views, generator, device);
            var n = Scores(encoder, data.Test, nonMemberIds, augmentation, views, generator, device);
            return new MembershipMonitorResult
            {
                BackboneSimilarityAuc = RocAuc.Compute(m.BackboneSimilarity, n.BackboneSimilarity),
                HeadSimilarityAuc = RocAuc.Compute(m.HeadSimilarity, n.HeadSimilarity),
                BackboneConfidenceAuc = RocAuc.Compute(m.BackboneConfidence, n.BackboneConfidence),
                ConfidenceAuc = RocAuc.Compute(m.HeadConfidence, n.HeadConfidence),
                MemberScore = m.HeadSimilarity.Average(),
                NonMemberScore = n.HeadSimilarity.Average(),
            };
        });
    }

    /// <summary>Per-image scores: mean pairwise cosine similarity of the views, and top-1 softmax probability of the clean image.</summary>
    public sealed record ImageScores(double[] BackboneSimilarity, double[] HeadSimilarity, double[] BackboneConfidence, double[] HeadConfidence);

    public static ImageScores Scores(
        ContrastiveLearner model, ImageSet images, IReadOnlyList<int> ids, ContrastiveAugmentation augmentation, int views, Generator generator, Device device, int chunk = 128)
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
            backboneConfidence.AddRange(TopProbability(features));
            headConfidence.AddRange(TopProbability(model.Projector.forward(features)));
            var (backboneViews, headViews) = EncoderSignals.Views(model, clean, augmentation, views, generator);
            backboneSimilarity.AddRange(Values(ViewSimilarity.Mean(backboneViews)));
            headSimilarity.AddRange(Values(ViewSimilarity.Mean(headViews)));
        }
        return new([.. backboneSimilarity], [.. headSimilarity], [.. backboneConfidence], [.. headConfidence]);
    }

    static double[] TopProbability(Tensor outputs) => Values(nn.functional.softmax(outputs, 1).amax([1]));

    static double[] Values(Tensor t) => t.to(ScalarType.Float64).cpu().data<double>().ToArray();
}
