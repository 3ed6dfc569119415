using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Supervised;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>
/// What an unlearning method needs of a model, whether a contrastive encoder or a classifier: its own training loss
/// (L_MEMtrain), the output D that the penalty and the norm look at, its trainable parameters, and its state for
/// restoring the last good weights.
/// </summary>
public abstract class UnlearningTarget
{
    public abstract nn.Module Module { get; }

    public abstract IEnumerable<Parameter> Parameters { get; }

    /// <summary>The model's training loss on a batch: the contrastive loss of two views, or cross-entropy with the labels.</summary>
    public abstract Tensor TrainLoss(Tensor images, Tensor labels, Generator generator);

    /// <summary>D: the output that is unlearned and audited.</summary>
    public abstract Tensor Output(Tensor images);

    /// <summary>Mean cosine similarity of two augmented views' outputs (encoders only; null for classifiers).</summary>
    public virtual Tensor? Alignment(Tensor images, Generator generator) => null;

    /// <summary>Classes the labels range over (classifiers only; 0 for encoders).</summary>
    public virtual int Classes => 0;

    public virtual void AfterStep() { }
}

/// <summary>A contrastive encoder: L_MEMtrain is its method's loss on two views; D is the head output (or the backbone's).</summary>
public sealed class ContrastiveTarget(ContrastiveModel model, AugmentationSettings augmentation, string output = "head") : UnlearningTarget
{
    readonly ContrastiveAugmentation augment = new(augmentation);

    public override nn.Module Module => model;

    public override IEnumerable<Parameter> Parameters => model.TrainableParameters();

    public override Tensor TrainLoss(Tensor images, Tensor labels, Generator generator)
    {
        var (first, second) = augment.TwoViews(images, generator);
        return model.Loss(first, second);
    }

    public override Tensor Output(Tensor images) => output == "head" ? model.Project(images) : model.Features(images);

    public override Tensor? Alignment(Tensor images, Generator generator)
    {
        var (first, second) = augment.TwoViews(images, generator);
        var a = nn.functional.normalize(model.Project(first), dim: 1);
        var b = nn.functional.normalize(model.Project(second), dim: 1);
        return (a * b).sum(1).mean();
    }

    // Momentum encoders and EMA targets follow the online network as in training.
    public override void AfterStep() => model.AfterStep(1.0);
}

/// <summary>A classifier: L_MEMtrain is cross-entropy with the labels; D is the logits.</summary>
public sealed class ClassifierTarget(Classifier model) : UnlearningTarget
{
    public override nn.Module Module => model;

    public override IEnumerable<Parameter> Parameters => model.parameters();

    public override Tensor TrainLoss(Tensor images, Tensor labels, Generator generator) => nn.functional.cross_entropy(model.forward(images), labels);

    public override Tensor Output(Tensor images) => model.forward(images);

    public override int Classes => model.Classes;
}
