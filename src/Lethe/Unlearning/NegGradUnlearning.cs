using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>Gradient ascent on the forget set (NegGrad, a baseline): minimises the negated training loss of forget batches.</summary>
public sealed class NegGradUnlearning(Learner learner, UnlearningSettings settings) : UnlearningMethod(learner, settings)
{
    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator)
    {
        var forget = Learner.TrainingLoss(batch.Forget, batch.ForgetLabels, generator).Loss;
        var loss = -forget;
        return (loss, new UnlearningTerms(Value(loss), 0, 0, 0, Value(forget)));
    }
}
