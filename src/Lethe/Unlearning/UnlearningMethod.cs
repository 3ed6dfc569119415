using Lethe.Data;
using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>The terms of one step, for logs and ablation tables; a method leaves the terms it lacks at zero.</summary>
public sealed record UnlearningTerms(double Total, double Train, double Penalty, double Norm, double Forget = 0, double Anchor = 0);

/// <summary>
/// One step's data: a forget batch with its labels and training-split ids, and, for methods that use them, retain and
/// non-member batches.
/// </summary>
public sealed record UnlearningBatch(Tensor Forget, Tensor ForgetLabels, Tensor? Retain, Tensor? RetainLabels, Tensor? NonMembers, int[]? ForgetIds = null);

/// <summary>What a method may look at between epochs: the images and the ids of each group (training-split ids).</summary>
public sealed record UnlearningContext(ImageSet Images, IReadOnlyList<int> Forget, IReadOnlyList<int>? NonMembers, IReadOnlyList<int>? Retain, Device Device, long Seed);

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

    /// <summary>
    /// Called before each epoch: a method that decides per sample what to do next looks at the model here. A reason to
    /// stop ends the run before that epoch.
    /// </summary>
    public virtual string? BeforeEpoch(int epoch, UnlearningContext context) => null;

    /// <summary>
    /// The model an anchor holds outputs at, when the caller has one (continual deletion: the model before the first
    /// request); null lets a method that anchors copy the model as its run starts. The caller keeps ownership.
    /// </summary>
    public Learner? Original { get; set; }

    /// <summary>The non-members the run draws its non-member batches from (a method may keep some apart for itself).</summary>
    public virtual IReadOnlyList<int> BatchNonMembers(IReadOnlyList<int> nonMembers) => nonMembers;

    /// <summary>How many forget samples the method still works on (null: all of them, always).</summary>
    public virtual int? Active => null;

    protected static double Value(Tensor? t) => t is null ? 0 : t.item<float>();
}
