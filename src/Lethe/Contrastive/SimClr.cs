using Lethe.Losses;
using Lethe.Training;
using static TorchSharp.torch;

namespace Lethe.Contrastive;

/// <summary>SimCLR (Chen et al. 2020): the NT-Xent loss between the projections of two views of each image.</summary>
public sealed class SimClr : ContrastiveLearner
{
    public SimClr(TrainingSettings recipe, int channels, int height, int width) : base("simclr", recipe, channels, height, width) => RegisterComponents();

    public override Tensor Loss(Tensor first, Tensor second) => NtXent.Loss(Project(first), Project(second), Recipe.Temperature);
}
