using Lethe.Data;
using Lethe.Losses;
using Lethe.Models;
using Lethe.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Contrastive;

/// <summary>
/// A self-supervised encoder: a backbone, a projection head, and whatever the method adds (a momentum key encoder and
/// queue, an EMA target and predictor). Its D is the head output (or the backbone's); its training loss is the method's
/// loss on two augmented views of the batch.
/// </summary>
public abstract class ContrastiveLearner : Learner
{
    readonly ContrastiveAugmentation augmentation;
    readonly Func<Module<Tensor, Tensor>> newBackbone;

    protected ContrastiveLearner(string name, TrainingSettings recipe, int channels, int height, int width) : base(name, recipe, channels, height, width)
    {
        projector = Backbones.Mlp(Backbones.FeatureDim(backbone), recipe.Encoder.HeadHidden, recipe.Encoder.HeadDim, recipe.Encoder.HeadNorm);
        augmentation = new ContrastiveAugmentation(recipe.Augmentation);
        newBackbone = () => Backbones.Create(recipe.Encoder, channels, height, width);
    }

#pragma warning disable IDE1006
    protected readonly Module<Tensor, Tensor> projector;
#pragma warning restore IDE1006

    public Module<Tensor, Tensor> Projector => projector;

    /// <summary>Projection-head output of images (backbone, then head).</summary>
    public Tensor Project(Tensor images) => projector.forward(Features(images));

    public override Tensor Output(Tensor images, string output = "head") => output == "backbone" ? Features(images) : Project(images);

    public override (Tensor Loss, Tensor? Logits) TrainingLoss(Tensor images, Tensor labels, Generator generator)
    {
        var (first, second) = TwoViews(images, generator);
        return (Loss(first, second), null);
    }

    /// <summary>The augmentation of training, which EncoderMI's views also use.</summary>
    public ContrastiveAugmentation Augmentation => augmentation;

    /// <summary>Two augmented views of a batch, drawn as training draws them.</summary>
    public (Tensor First, Tensor Second) TwoViews(Tensor images, Generator generator) => augmentation.TwoViews(images, generator);

    /// <summary>The method's loss on two views of a batch.</summary>
    public abstract Tensor Loss(Tensor first, Tensor second);

    /// <summary>
    /// Alignment Calibration's forget term: the mean cosine similarity of the head outputs of two augmented views, the
    /// signal EncoderMI reads (<see cref="ViewSimilarity"/>).
    /// </summary>
    public Tensor Alignment(Tensor images, Generator generator)
    {
        var (first, second) = TwoViews(images, generator);
        var views = stack([functional.normalize(Project(first), dim: 1), functional.normalize(Project(second), dim: 1)], 1);
        return ViewSimilarity.Mean(views).mean();
    }

    public override IEnumerable<Parameter> TrainableParameters() => backbone.parameters().Concat(projector.parameters());

    /// <summary>A fresh backbone of the same shape (for a key encoder or a target network).</summary>
    protected Module<Tensor, Tensor> NewBackbone() => newBackbone();

    /// <summary>Copies <paramref name="source"/>'s parameters into <paramref name="target"/> and freezes the target.</summary>
    protected static void CopyAndFreeze(Module source, Module target)
    {
        using var noGrad = no_grad();
        var from = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in target.named_parameters())
        {
            parameter.copy_(from[name]);
            parameter.requires_grad = false;
        }
    }

    /// <summary>target = m * target + (1 - m) * source, parameter by parameter (MoCo's key encoder, BYOL's target).</summary>
    public static void MomentumUpdate(Module source, Module target, double momentum)
    {
        using var noGrad = no_grad();
        var from = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in target.named_parameters())
            parameter.mul_(momentum).add_(from[name], alpha: 1 - momentum);
    }
}
