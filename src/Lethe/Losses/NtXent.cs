using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Lethe.Losses;

/// <summary>SimCLR's NT-Xent (Chen et al. 2020), the normalised temperature-scaled cross-entropy of two views.</summary>
public static class NtXent
{
    /// <summary>
    /// For each of the 2N projections, cross-entropy of picking its partner view among the other 2N - 1, with cosine
    /// similarities divided by the temperature; the mean over all 2N.
    /// </summary>
    public static Tensor Loss(Tensor z1, Tensor z2, double temperature)
    {
        using var scope = NewDisposeScope();
        var n = z1.shape[0];
        var z = F.normalize(cat([z1, z2], 0), dim: 1);
        var logits = matmul(z, z.t()) / temperature;
        var self = eye(2 * n, dtype: ScalarType.Bool, device: z.device);
        logits = logits.masked_fill(self, double.NegativeInfinity);
        var partner = cat([arange(n, 2 * n, device: z.device), arange(0, n, device: z.device)]);
        return F.cross_entropy(logits, partner).MoveToOuterDisposeScope();
    }
}
