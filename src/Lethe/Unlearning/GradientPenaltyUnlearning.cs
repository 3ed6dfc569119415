using Lethe.Contrastive;
using Lethe.Data;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>The terms of one step, for logs and ablation tables.</summary>
public sealed record UnlearningTerms(double Total, double Train, double Penalty, double Norm);

/// <summary>
/// What the two variants share: the model's own training loss on the forget batch (L_MEMtrain, which keeps the
/// encoder from collapsing) and the output D that the penalty and the norm look at.
/// </summary>
public abstract class GradientPenaltyUnlearning(ContrastiveModel model, UnlearningSettings settings, ContrastiveAugmentation augmentation)
{
    protected ContrastiveModel Model { get; } = model;

    protected UnlearningSettings Settings { get; } = settings;

    /// <summary>D: the encoder's output that is unlearned and audited.</summary>
    protected Tensor Output(Tensor images) => Settings.Output == "head" ? Model.Project(images) : Model.Features(images);

    /// <summary>L_MEMtrain: the method's contrastive loss on two views of the forget batch.</summary>
    protected Tensor TrainLoss(Tensor forget, Generator generator)
    {
        var (first, second) = augmentation.TwoViews(forget, generator);
        return Model.Loss(first, second);
    }

    /// <summary>The step's loss (to backpropagate) and its terms.</summary>
    public abstract (Tensor Loss, UnlearningTerms Terms) Loss(Tensor forget, Tensor? nonMembers, Generator generator);

    protected (Tensor Loss, UnlearningTerms Terms) Combine(Tensor? train, Tensor? penalty, Tensor? norm)
    {
        // Settings.Validate guarantees at least one term is on.
        var weighted = new[] { (train, Settings.Alpha), (penalty, Settings.Beta), (norm, Settings.Gamma) }
            .Where(t => t.Item1 is not null).Select(t => t.Item1! * t.Item2);
        var total = weighted.Aggregate((a, b) => a + b);
        static double Value(Tensor? t) => t is null ? 0 : t.item<float>();
        return (total, new UnlearningTerms(total.item<float>(), Value(train), Value(penalty), Value(norm)));
    }
}
