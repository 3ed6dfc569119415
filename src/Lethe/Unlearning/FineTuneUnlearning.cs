using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>
/// Fine-tuning on the retained members (a baseline): the model's own training loss on retain batches, hoping that
/// what only the forget set taught fades. An epoch is a pass over the retained members.
/// </summary>
public sealed class FineTuneUnlearning(Learner learner, UnlearningSettings settings) : UnlearningMethod(learner, settings)
{
    public override bool DrivenByRetain => true;

    public override bool NeedsRetain => true;

    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator)
    {
        var loss = Learner.TrainingLoss(batch.Retain!, batch.RetainLabels!, generator).Loss;
        return (loss, new UnlearningTerms(Value(loss), Value(loss), 0, 0));
    }
}
