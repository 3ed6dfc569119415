using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>Gradient ascent on the forget set (NegGrad, a baseline): minimises the negated training loss of forget batches.</summary>
public sealed class NegGradUnlearning(UnlearningTarget target, UnlearningSettings settings) : UnlearningMethod(target, settings)
{
    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator)
    {
        var forget = Target.TrainLoss(batch.Forget, batch.ForgetLabels, generator);
        var loss = -forget;
        return (loss, new UnlearningTerms(Value(loss), 0, 0, 0, Value(forget)));
    }
}
