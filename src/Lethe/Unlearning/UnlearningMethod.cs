using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>The terms of one step, for logs and ablation tables; a method leaves the terms it lacks at zero.</summary>
public sealed record UnlearningTerms(double Total, double Train, double Penalty, double Norm, double Forget = 0);

/// <summary>One step's data: a forget batch with its labels, and, for methods that use them, retain and non-member batches.</summary>
public sealed record UnlearningBatch(Tensor Forget, Tensor ForgetLabels, Tensor? Retain, Tensor? RetainLabels, Tensor? NonMembers);

/// <summary>
/// An unlearning method: the loss of one step. The <see cref="Unlearner"/> runs the loop (order, batches, optimizer,
/// stopping, divergence); each method is one file on this base and one line in <see cref="UnlearningMethods"/>.
/// </summary>
public abstract class UnlearningMethod(Learner learner, UnlearningSettings settings)
{
    protected Learner Learner { get; } = learner;

    protected UnlearningSettings Settings { get; } = settings;

    /// <summary>Whether an epoch is a pass over the retained members (fine-tuning) rather than over the forget set.</summary>
    public virtual bool DrivenByRetain => false;

    public virtual bool NeedsRetain => false;

    public virtual bool NeedsNonMembers => false;

    /// <summary>Whether the paper's stopping rule (the penalty near zero or no longer falling) applies.</summary>
    public virtual bool UsesPenalty => false;

    public abstract (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator);

    protected static double Value(Tensor? t) => t is null ? 0 : t.item<float>();
}
