using Lethe.Contrastive;
using Lethe.Data;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>
/// The full variant (paper eq. 2): alpha L_MEMtrain + beta L_GP + gamma L_Norm, with the penalty at interpolates
/// between forget samples and non-members, and L_Norm the mean L2 norm of D's output on the forget batch.
/// The non-members it mixes in are the split's shadow non-members, never the audit's non-members.
/// </summary>
public sealed class FullGradientPenaltyUnlearning(ContrastiveModel model, UnlearningSettings settings, ContrastiveAugmentation augmentation)
    : GradientPenaltyUnlearning(model, settings, augmentation)
{
    public override (Tensor Loss, UnlearningTerms Terms) Loss(Tensor forget, Tensor? nonMembers, Generator generator)
    {
        if (Settings.Beta > 0 && nonMembers is null) throw new LetheException("the full variant needs non-member data for its interpolates");
        return Combine(
            Settings.Alpha > 0 ? TrainLoss(forget, generator) : null,
            Settings.Beta > 0 ? GradientPenalty.AtInterpolates(Output, forget, nonMembers!, generator) : null,
            Settings.Gamma > 0 ? linalg.vector_norm(Output(forget), 2, new long[] { 1 }).mean() : null);
    }
}
