using Lethe.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Contrastive;

/// <summary>
/// A self-supervised encoder being trained: a backbone, a projection head, and whatever the method adds
/// (a momentum key encoder and queue, an EMA target and predictor). <see cref="Features"/> is the backbone
/// output, <see cref="Project"/> the head output; both are audited, and the two together are what is unlearned.
/// </summary>
public abstract class ContrastiveModel : Module<Tensor, Tensor>
{
    protected ContrastiveModel(string name, Func<Module<Tensor, Tensor>> createBackbone, EncoderSettings encoder) : base(name)
    {
        backbone = createBackbone();
        projector = Backbones.Mlp(Backbones.FeatureDim(backbone), encoder.HeadHidden, encoder.HeadDim);
        Encoder = encoder;
    }

#pragma warning disable IDE1006 // TorchSharp names submodules after their fields; keep snake-free, stable names.
    protected readonly Module<Tensor, Tensor> backbone;
    protected readonly Module<Tensor, Tensor> projector;
#pragma warning restore IDE1006

    public EncoderSettings Encoder { get; }

    /// <summary>The method's name, as in settings and checkpoints: simclr, moco or byol.</summary>
    public abstract string Method { get; }

    public Module<Tensor, Tensor> Backbone => backbone;

    public Module<Tensor, Tensor> Projector => projector;

    /// <summary>Backbone features of images.</summary>
    public Tensor Features(Tensor images) => backbone.forward(images);

    /// <summary>Projection-head output of images (backbone, then head).</summary>
    public Tensor Project(Tensor images) => projector.forward(backbone.forward(images));

    public override Tensor forward(Tensor images) => Features(images);

    /// <summary>The method's training loss on two views of a batch.</summary>
    public abstract Tensor Loss(Tensor first, Tensor second);

    /// <summary>Called after each optimizer step; <paramref name="progress"/> runs from 0 to 1 over the run.</summary>
    public virtual void AfterStep(double progress) { }

    /// <summary>The parameters the optimizer trains (not a momentum or EMA copy).</summary>
    public virtual IEnumerable<Parameter> TrainableParameters() => backbone.parameters().Concat(projector.parameters());

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
