using Lethe.Losses;
using Lethe.Models;
using Lethe.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Contrastive;

/// <summary>
/// BYOL (Grill et al. 2020): an online network with a predictor regresses the projection of the other view by an EMA
/// target network; no negatives. The target's decay follows tau = 1 - (1 - tau_base)(cos(pi t) + 1) / 2 over a run's
/// progress t, so it reaches 1 (a frozen target) at the end of training.
/// </summary>
public sealed class Byol : ContrastiveLearner
{
#pragma warning disable IDE1006
    readonly Module<Tensor, Tensor> predictor;
    readonly Module<Tensor, Tensor> target_backbone;
    readonly Module<Tensor, Tensor> target_projector;
#pragma warning restore IDE1006

    public Byol(TrainingSettings recipe, int channels, int height, int width) : base("byol", recipe, channels, height, width)
    {
        if (recipe.TauBase is < 0 or > 1) throw new LetheException($"BYOL's tau must lie in [0, 1], not {recipe.TauBase}");
        predictor = Backbones.Mlp(recipe.Encoder.HeadDim, recipe.Encoder.PredictorHidden ?? recipe.Encoder.HeadHidden, recipe.Encoder.HeadDim, recipe.Encoder.HeadNorm);
        target_backbone = NewBackbone();
        target_projector = Backbones.Mlp(Backbones.FeatureDim(target_backbone), recipe.Encoder.HeadHidden, recipe.Encoder.HeadDim, recipe.Encoder.HeadNorm);
        RegisterComponents();
        CopyAndFreeze(backbone, target_backbone);
        CopyAndFreeze(projector, target_projector);
    }

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
        return (ByolRegression.Loss(p1, z2) + ByolRegression.Loss(p2, z1)).MoveToOuterDisposeScope();
    }

    public override void AfterStep(double progress)
    {
        var tau = Tau(Recipe.TauBase, progress);
        MomentumUpdate(backbone, target_backbone, tau);
        MomentumUpdate(projector, target_projector, tau);
    }

    public static double Tau(double tauBase, double progress) => 1 - (1 - tauBase) * (Math.Cos(Math.PI * Math.Clamp(progress, 0, 1)) + 1) / 2;
}
