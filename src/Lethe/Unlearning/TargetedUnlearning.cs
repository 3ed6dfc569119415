using Lethe.Contrastive;
using Lethe.Losses;
using Lethe.Models;
using Lethe.Runtime;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>
/// Targeted unlearning (Lethe's method, docs/targeted-unlearning.md): forget just the forget set, and only as far as
/// retraining would. Each epoch scores every forgotten sample with the verdict's attack signal and keeps in the forget
/// term only those that still stand out from calibration non-members (<see cref="PerSampleStop"/>); an anchor holds the
/// retained members' and other non-members' outputs at the original model's; batch norm stays frozen; steps are small.
/// The run ends once no forgotten sample stands out. Loss: alpha L_MEMtrain + beta (forget term, averaged over the
/// standing-out samples) + w_anchor anchor. The forget term is the attack's own score (an encoder's view agreement, on
/// the head and the backbone) or the paper's gradient penalty (<see cref="ForgetTerm"/>).
/// The anchor, for an encoder: the squared distance of the L2-normalised head and backbone outputs of two augmented
/// views from the original model's (EncoderMI reads the agreement of such views); for a classifier: KL(original ||
/// current) of the softmax on the clean image (what the confidence and loss attacks read).
/// </summary>
public sealed class TargetedUnlearning(Learner learner, UnlearningSettings settings) : GradientPenaltyUnlearning(learner, settings), IDisposable
{
    /// <summary>Calibration non-members scored for the stop: enough for percentiles at a few points' resolution, few enough to be quick.</summary>
    public const int CalibrationSamples = 256;

    Learner? copy;
    HashSet<int>? standing;
    double[][]? nonMemberScores;

    public override bool NeedsRetain => Settings.AnchorWeight > 0;

    public override bool NeedsNonMembers => Settings.PerSampleStop || (Settings.AnchorNonMembers && Settings.AnchorWeight > 0);

    /// <summary>With per-sample stopping the method has its own stopping rule; without it, the paper's rule when the term is the penalty.</summary>
    public override bool UsesPenalty => !Settings.PerSampleStop && Settings.Beta > 0 && Settings.ForgetTerm == ForgetTerm.Penalty;

    public override int? Active => standing?.Count;

    public override string? BeforeEpoch(int epoch, UnlearningContext context)
    {
        if (!Settings.PerSampleStop) return null;
        var forget = context.Forget;
        var calibration = Calibration(context.NonMembers);
        var forgetScores = PerSampleStop.Scores(Learner, context.Images, forget, Seeds.Derive(Settings.Seed, $"unlearn/stop/forget/{epoch}"), context.Device);
        // Non-members are scored at the start and again before the run is declared done: the anchor keeps them where
        // they were, and scoring a few hundred of them every epoch would cost more than the penalty itself.
        nonMemberScores ??= PerSampleStop.Scores(Learner, context.Images, calibration, Seeds.Derive(Settings.Seed, "unlearn/stop/non-members"), context.Device);
        standing = StandingOut(forget, forgetScores, nonMemberScores);
        if (standing.Count > 0) return null;
        if (epoch == 0) return "no forgotten sample stands out from the calibration non-members";
        nonMemberScores = PerSampleStop.Scores(Learner, context.Images, calibration, Seeds.Derive(Settings.Seed, $"unlearn/stop/non-members/{epoch}"), context.Device);
        standing = StandingOut(forget, forgetScores, nonMemberScores);
        return standing.Count == 0 ? $"after {epoch} epochs no forgotten sample stands out from the calibration non-members" : null;
    }

    static HashSet<int> StandingOut(IReadOnlyList<int> forget, double[][] forgetScores, double[][] nonMemberScores)
    {
        var standing = new HashSet<int>();
        for (var signal = 0; signal < forgetScores.Length; signal++)
        {
            var marks = PerSampleStop.StillStandingOut(forgetScores[signal], nonMemberScores[signal]);
            for (var i = 0; i < marks.Length; i++)
                if (marks[i]) standing.Add(forget[i]);
        }
        return standing;
    }

    /// <summary>The calibration non-members: a seeded share of the given ones, the same every epoch, never in a batch.</summary>
    IReadOnlyList<int> Calibration(IReadOnlyList<int>? nonMembers)
    {
        var ids = nonMembers ?? throw new LetheException("per-sample stopping needs calibration non-members");
        if (ids.Count < 2) throw new LetheException("per-sample stopping needs at least 2 calibration non-members");
        return ids.Count <= CalibrationSamples ? ids : Shuffled(ids)[..CalibrationSamples];
    }

    int[] Shuffled(IReadOnlyList<int> ids)
    {
        var order = ids.ToArray();
        Seeds.Random(Settings.Seed, "unlearn/stop/calibration").Shuffle(order);
        return order;
    }

    /// <summary>The anchor's non-members leave out the calibration ones, so that the stop reads samples nothing held in place.</summary>
    public override IReadOnlyList<int> BatchNonMembers(IReadOnlyList<int> nonMembers)
    {
        if (!Settings.PerSampleStop) return nonMembers;
        var calibration = Calibration(nonMembers).ToHashSet();
        var rest = nonMembers.Where(id => !calibration.Contains(id)).ToArray();
        return rest.Length >= 2 ? rest : nonMembers;
    }

    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator)
    {
        Tensor? forget = null;
        if (Settings.Beta > 0)
        {
            var mask = Mask(batch);
            if (mask is null || mask.Any(m => m))
            {
                var perSample = ForgetTermPerSample(batch.Forget, batch.ForgetLabels, generator);
                if (mask is null) forget = perSample.mean();
                else
                {
                    var weights = tensor(mask.Select(m => m ? 1f : 0f).ToArray(), device: batch.Forget.device);
                    forget = (perSample * weights).sum() / weights.sum();
                }
            }
        }
        var train = Settings.Alpha > 0 ? Learner.TrainingLoss(batch.Forget, batch.ForgetLabels, generator).Loss : null;
        Tensor? anchor = null;
        if (Settings.AnchorWeight > 0)
        {
            anchor = Anchor(batch.Retain!, generator);
            if (Settings.AnchorNonMembers) anchor = (anchor + Anchor(batch.NonMembers!, generator)) / 2;
        }
        var terms = new[] { (train, Settings.Alpha), (forget, Settings.Beta), (anchor, Settings.AnchorWeight) }.Where(t => t.Item1 is not null).ToArray();
        // Every forget sample of this batch has reached its target and nothing else is on: a step of nothing.
        var total = terms.Length == 0 ? zeros(1, device: batch.Forget.device, requires_grad: true).sum() : terms.Select(t => t.Item1! * t.Item2).Aggregate((a, b) => a + b);
        var penalty = Settings.ForgetTerm == ForgetTerm.Penalty ? forget : null;
        var score = Settings.ForgetTerm == ForgetTerm.Score ? forget : null;
        return (total, new UnlearningTerms(Value(total), Value(train), Value(penalty), 0, Value(score), Value(anchor)));
    }

    /// <summary>
    /// The forget term of each sample, [B]: the gradient penalty, or the attack's score itself (an encoder's agreement
    /// of two augmented views on the head and the backbone; a classifier's log-probability of the true label).
    /// </summary>
    Tensor ForgetTermPerSample(Tensor images, Tensor labels, Generator generator)
    {
        if (Settings.ForgetTerm == ForgetTerm.Penalty) return GradientPenalty.PerSample(Output, images);
        if (Learner is ContrastiveLearner encoder)
        {
            var (first, second) = encoder.TwoViews(images, generator);
            var (b1, h1) = NormalisedOutputs(encoder, first);
            var (b2, h2) = NormalisedOutputs(encoder, second);
            return ((b1 * b2).sum(1) + (h1 * h2).sum(1)) / 2;
        }
        return -nn.functional.cross_entropy(Learner.Output(images), labels, reduction: nn.Reduction.None);
    }

    /// <summary>Which samples of the batch still get the penalty (null: all, when per-sample stopping is off).</summary>
    bool[]? Mask(UnlearningBatch batch)
    {
        if (!Settings.PerSampleStop) return null;
        var ids = batch.ForgetIds ?? throw new InvalidOperationException("per-sample stopping needs the forget batch's ids");
        var standingOut = standing ?? throw new InvalidOperationException("the forget samples were not scored before the epoch");
        return [.. ids.Select(standingOut.Contains)];
    }

    /// <summary>How far the retained members' outputs have moved from the original model's (0 at the original weights).</summary>
    public Tensor Anchor(Tensor retain, Generator generator)
    {
        var original = Original ?? (copy ??= Learner.FrozenCopy());
        if (Learner is ContrastiveLearner encoder)
        {
            var (first, second) = encoder.TwoViews(retain, generator);
            var views = cat([first, second], 0);
            var (backbone, head) = NormalisedOutputs(encoder, views);
            Tensor originalBackbone, originalHead;
            using (no_grad()) (originalBackbone, originalHead) = NormalisedOutputs((ContrastiveLearner)original, views);
            return (backbone - originalBackbone).pow(2).sum(1).mean() + (head - originalHead).pow(2).sum(1).mean();
        }
        var logProbabilities = nn.functional.log_softmax(Learner.Output(retain), 1);
        Tensor originalLog;
        using (no_grad()) originalLog = nn.functional.log_softmax(original.Output(retain), 1);
        return (originalLog.exp() * (originalLog - logProbabilities)).sum(1).mean();
    }

    static (Tensor Backbone, Tensor Head) NormalisedOutputs(ContrastiveLearner model, Tensor images)
    {
        var features = model.Features(images);
        return (nn.functional.normalize(features, dim: 1), nn.functional.normalize(model.Projector.forward(features), dim: 1));
    }

    public void Dispose()
    {
        copy?.Dispose();
        copy = null;
    }
}
