using Lethe.Models;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Lethe.Contrastive;

/// <summary>SimCLR (Chen et al. 2020): the NT-Xent loss between the projections of two views of each image.</summary>
public sealed class SimClr : ContrastiveModel
{
    public SimClr(Func<Module<Tensor, Tensor>> createBackbone, EncoderSettings encoder, double temperature) : base("simclr", createBackbone, encoder)
    {
        Temperature = temperature;
        RegisterComponents();
    }

    public double Temperature { get; }

    public override string Method => "simclr";

    public override Tensor Loss(Tensor first, Tensor second) => NtXent(Project(first), Project(second), Temperature);

    /// <summary>
    /// NT-Xent: for each of the 2N projections, cross-entropy of picking its partner view among the other
    /// 2N - 1, with cosine similarities divided by the temperature; the mean over all 2N.
    /// </summary>
    public static Tensor NtXent(Tensor z1, Tensor z2, double temperature)
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
