using Lethe.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Lethe.Contrastive;

/// <summary>
/// BYOL (Grill et al. 2020): an online network with a predictor regresses the projection of the other view by
/// an EMA target network; no negatives. The target's decay follows tau = 1 - (1 - tau_base)(cos(pi t) + 1) / 2
/// over the run's progress t.
/// </summary>
public sealed class Byol : ContrastiveModel
{
#pragma warning disable IDE1006
    readonly Module<Tensor, Tensor> predictor;
    readonly Module<Tensor, Tensor> target_backbone;
    readonly Module<Tensor, Tensor> target_projector;
#pragma warning restore IDE1006

    public Byol(Func<Module<Tensor, Tensor>> createBackbone, EncoderSettings encoder, double tauBase) : base("byol", createBackbone, encoder)
    {
        if (tauBase is < 0 or > 1) throw new LetheException($"BYOL's tau must lie in [0, 1], not {tauBase}");
        TauBase = tauBase;
        predictor = Backbones.Mlp(encoder.HeadDim, encoder.HeadHidden, encoder.HeadDim);
        target_backbone = createBackbone();
        target_projector = Backbones.Mlp(Backbones.FeatureDim(target_backbone), encoder.HeadHidden, encoder.HeadDim);
        RegisterComponents();
        CopyAndFreeze(backbone, target_backbone);
        CopyAndFreeze(projector, target_projector);
    }

    public double TauBase { get; }

    public override string Method => "byol";

    public Module<Tensor, Tensor> TargetBackbone => target_backbone;

    public override IEnumerable<Parameter> TrainableParameters() => base.TrainableParameters().Concat(predictor.parameters());

    public override Tensor Loss(Tensor first, Tensor second)
    {
        using var scope = NewDisposeScope();
        var p1 = predictor.forward(Project(first));
        var p2 = predictor.forward(Project(second));
        Tensor z1, z2;
        using (no_grad())
        {
            z1 = target_projector.forward(target_backbone.forward(first));
            z2 = target_projector.forward(target_backbone.forward(second));
        }
        return (RegressionLoss(p1, z2) + RegressionLoss(p2, z1)).MoveToOuterDisposeScope();
    }

    public override void AfterStep(double progress)
    {
        var tau = Tau(TauBase, progress);
        MomentumUpdate(backbone, target_backbone, tau);
        MomentumUpdate(projector, target_projector, tau);
    }

    public static double Tau(double tauBase, double progress) => 1 - (1 - tauBase) * (Math.Cos(Math.PI * Math.Clamp(progress, 0, 1)) + 1) / 2;

    /// <summary>BYOL's loss for one direction: mean over the batch of 2 - 2 cos(p, z).</summary>
    public static Tensor RegressionLoss(Tensor predictions, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var cosine = (F.normalize(predictions, dim: 1) * F.normalize(targets, dim: 1)).sum(1);
        return (2 - 2 * cosine).mean().MoveToOuterDisposeScope();
    }
}
