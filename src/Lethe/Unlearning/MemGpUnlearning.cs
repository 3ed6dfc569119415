using Lethe.Losses;
using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>The optimized variant (paper eq. 3): alpha L_MEMtrain + beta L_MEMGP, the penalty at the forget samples; no non-member data.</summary>
public sealed class MemGpUnlearning(Learner learner, UnlearningSettings settings) : GradientPenaltyUnlearning(learner, settings)
{
    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator) => Combine(
        Settings.Alpha > 0 ? Learner.TrainingLoss(batch.Forget, batch.ForgetLabels, generator).Loss : null,
        Settings.Beta > 0 ? GradientPenalty.AtSamples(Output, batch.Forget) : null,
        null);
}
