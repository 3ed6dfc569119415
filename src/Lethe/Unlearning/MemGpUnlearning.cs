using Lethe.Contrastive;
using Lethe.Data;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>The optimized variant (paper eq. 3): alpha L_MEMtrain + beta L_MEMGP, the penalty at the forget samples; no non-member data.</summary>
public sealed class MemGpUnlearning(ContrastiveModel model, UnlearningSettings settings, ContrastiveAugmentation augmentation)
    : GradientPenaltyUnlearning(model, settings, augmentation)
{
    public override (Tensor Loss, UnlearningTerms Terms) Loss(Tensor forget, Tensor? nonMembers, Generator generator) => Combine(
        Settings.Alpha > 0 ? TrainLoss(forget, generator) : null,
        Settings.Beta > 0 ? GradientPenalty.AtSamples(Output, forget) : null,
        null);
}
