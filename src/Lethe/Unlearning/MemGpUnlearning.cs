using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>The optimized variant (paper eq. 3): alpha L_MEMtrain + beta L_MEMGP, the penalty at the forget samples; no non-member data.</summary>
public sealed class MemGpUnlearning(UnlearningTarget target, UnlearningSettings settings) : GradientPenaltyUnlearning(target, settings)
{
    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator) => Combine(
        Settings.Alpha > 0 ? Target.TrainLoss(batch.Forget, batch.ForgetLabels, generator) : null,
        Settings.Beta > 0 ? GradientPenalty.AtSamples(Output, batch.Forget) : null,
        null);
}
