using Lethe.Losses;
using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>
/// The full variant (paper eq. 2): alpha L_MEMtrain + beta L_GP + gamma L_Norm, with the penalty at interpolates
/// between forget samples and non-members, and L_Norm (<see cref="OutputNorm"/>) the mean L2 norm of D's output on the forget batch.
/// The non-members it mixes in are the split's shadow non-members, never the audit's non-members.
/// </summary>
public sealed class FullGradientPenaltyUnlearning(Learner learner, UnlearningSettings settings) : GradientPenaltyUnlearning(learner, settings)
{
    public override bool NeedsNonMembers => Settings.Beta > 0;

    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator)
    {
        if (Settings.Beta > 0 && batch.NonMembers is null) throw new LetheException("the full variant needs non-member data for its interpolates");
        return Combine(
            Settings.Alpha > 0 ? Learner.TrainingLoss(batch.Forget, batch.ForgetLabels, generator).Loss : null,
            Settings.Beta > 0 ? GradientPenalty.AtInterpolates(Output, batch.Forget, batch.NonMembers!, generator) : null,
            Settings.Gamma > 0 ? OutputNorm.Loss(Output(batch.Forget)) : null);
    }
}
