using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Lethe.Losses;

/// <summary>BYOL's regression loss (Grill et al. 2020) for one direction: the batch mean of 2 - 2 cos(p, z).</summary>
public static class ByolRegression
{
    public static Tensor Loss(Tensor predictions, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var cosine = (F.normalize(predictions, dim: 1) * F.normalize(targets, dim: 1)).sum(1);
        return (2 - 2 * cosine).mean().MoveToOuterDisposeScope();
    }
}
