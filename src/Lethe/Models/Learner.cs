using Lethe.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Models;

/// <summary>
/// A model being trained, unlearned or audited, whatever its kind: a contrastive encoder (SimCLR, MoCo, BYOL) or a
/// supervised classifier. Training, unlearning and the audits all work through this one abstraction: its training loss
/// on a batch (the paper's L_MEMtrain), the output D that unlearning and the attacks look at, its backbone features
/// for kNN and the linear probe, the parameters the optimizer trains, and what follows an optimizer step.
/// </summary>
public abstract class Learner : Module<Tensor, Tensor>
{
    protected Learner(string name, TrainingSettings recipe, int channels, int height, int width) : base(name)
    {
        if (recipe.Method != name) throw new LetheException($"a {name} learner cannot be built from the settings of a '{recipe.Method}' run");
        Recipe = recipe;
        backbone = Backbones.Create(recipe.Encoder, channels, height, width);
        shape = (channels, height, width);
    }

    readonly (int Channels, int Height, int Width) shape;

#pragma warning disable IDE1006 // TorchSharp names submodules after their fields; the names are the checkpoints' keys.
    protected readonly Module<Tensor, Tensor> backbone;
#pragma warning restore IDE1006

    /// <summary>The settings the learner was built from (its method, encoder and, for encoders, its loss settings).</summary>
    public TrainingSettings Recipe { get; }

    /// <summary>The registered name: simclr, moco, byol or classifier.</summary>
    public string Method => Recipe.Method;

    /// <summary>The architecture name written into checkpoints, e.g. moco/small-cnn.</summary>
    public string Architecture => Recipe.Architecture;

    public Module<Tensor, Tensor> Backbone => backbone;

    /// <summary>Classes a classifier predicts; 0 for an encoder, which has no labels.</summary>
    public virtual int Classes => 0;

    /// <summary>
    /// Backbone features of images: what kNN and the linear probe read. Inside <see cref="FoldBatchNorm"/>, in eval
    /// mode without autograd, through the folded backbone.
    /// </summary>
    public Tensor Features(Tensor images) =>
        folded is { } inference && !training && !is_grad_enabled() ? inference.Forward(images) : backbone.forward(images);

    FoldedInference? folded;
    int foldDepth;

    /// <summary>Whether eval-mode inference runs through a folded backbone now.</summary>
    internal bool Folded => folded is not null;

    /// <summary>
    /// Until the returned scope is disposed, eval-mode inference without autograd runs through a copy of the backbone
    /// with each batch norm folded into its convolution (<see cref="BatchNormFolding"/>); training-mode and gradient
    /// forwards still run the model itself, whose weights and statistics the fold leaves as they are. The weights must
    /// not change while the scope is open. Nested scopes share one folded copy. Does nothing when folding is turned
    /// off (LETHE_BN_FOLD=0) or the backbone cannot be folded.
    /// </summary>
    public IDisposable FoldBatchNorm()
    {
        if (foldDepth == 0 && BatchNormFolding.Enabled && backbone is IFoldable foldable) folded = foldable.FoldBatchNorm();
        foldDepth++;
        return new FoldScope(this);
    }

    sealed class FoldScope(Learner learner) : IDisposable
    {
        bool done;

        public void Dispose()
        {
            if (done) return;
            done = true;
            if (--learner.foldDepth > 0) return;
            learner.folded?.Dispose();
            learner.folded = null;
        }
    }

    /// <summary>
    /// D, the output unlearned and audited: <c>head</c> (an encoder's projection-head output, a classifier's logits) or
    /// <c>backbone</c> (the backbone features).
    /// </summary>
    public abstract Tensor Output(Tensor images, string output = "head");

    public override Tensor forward(Tensor images) => Output(images);

    /// <summary>
    /// The model's own training loss on a batch (L_MEMtrain): the method's contrastive loss of two augmented views, or
    /// cross-entropy with the labels. <c>Logits</c> is a classifier's prediction (for the training accuracy), else null.
    /// </summary>
    public abstract (Tensor Loss, Tensor? Logits) TrainingLoss(Tensor images, Tensor labels, Generator generator);

    /// <summary>The parameters the optimizer trains (not a momentum or EMA copy).</summary>
    public virtual IEnumerable<Parameter> TrainableParameters() => parameters();

    /// <summary>
    /// A copy of this model as it is now, in evaluation mode with no parameter trained: the original model D0 that an
    /// anchor compares against while this one is unlearned.
    /// </summary>
    public Learner FrozenCopy()
    {
        var copy = Runtime.Seeds.WithGlobalGenerator(null, () => TrainingMethods.Get(Method).Create(Recipe, shape.Channels, shape.Height, shape.Width, Classes));
        var device = parameters().First().device;
        copy.to(device);
        using (no_grad())
        {
            var mine = state_dict();
            foreach (var (name, value) in copy.state_dict()) value.copy_(mine[name]);
        }
        foreach (var parameter in copy.parameters()) parameter.requires_grad = false;
        copy.eval();
        return copy;
    }

    /// <summary>Called after each optimizer step; <paramref name="progress"/> runs from 0 to 1 over a training run.</summary>
    public virtual void AfterStep(double progress) { }
}
