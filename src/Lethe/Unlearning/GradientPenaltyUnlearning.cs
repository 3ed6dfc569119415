using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>
/// What the paper's two variants share: the model's own training loss on the forget batch (L_MEMtrain, which keeps the
/// model from collapsing) and the output D that the penalty and the norm look at.
/// </summary>
public abstract class GradientPenaltyUnlearning(Learner learner, UnlearningSettings settings) : UnlearningMethod(learner, settings)
{
    public override bool UsesPenalty => Settings.Beta > 0;

    /// <summary>D: the model's output that is unlearned and audited.</summary>
    protected Tensor Output(Tensor images) => Learner.Output(images, Settings.Output);

    protected (Tensor Loss, UnlearningTerms Terms) Combine(Tensor? train, Tensor? penalty, Tensor? norm)
    {
        // Settings.Validate guarantees at least one term is on.
        var weighted = new[] { (train, Settings.Alpha), (penalty, Settings.Beta), (norm, Settings.Gamma) }
            .Where(t => t.Item1 is not null).Select(t => t.Item1! * t.Item2);
        var total = weighted.Aggregate((a, b) => a + b);
        return (total, new UnlearningTerms(total.item<float>(), Value(train), Value(penalty), Value(norm)));
    }
}
