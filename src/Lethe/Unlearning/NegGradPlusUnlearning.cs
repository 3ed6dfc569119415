using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>
/// NegGrad+ (Kurmanji et al.'s baseline): descent on retain batches and ascent on forget batches,
/// L_retain - w L_forget with w = <see cref="UnlearningSettings.AscentWeight"/>, so that utility is held while forgetting.
/// </summary>
public sealed class NegGradPlusUnlearning(Learner learner, UnlearningSettings settings) : UnlearningMethod(learner, settings)
{
    public override bool NeedsRetain => true;

    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator)
    {
        var retain = Learner.TrainingLoss(batch.Retain!, batch.RetainLabels!, generator).Loss;
        var forget = Learner.TrainingLoss(batch.Forget, batch.ForgetLabels, generator).Loss;
        var loss = retain - Settings.AscentWeight * forget;
        return (loss, new UnlearningTerms(Value(loss), Value(retain), 0, 0, Value(forget)));
    }
}
