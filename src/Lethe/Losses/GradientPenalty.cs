using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Losses;

/// <summary>
/// The paper's gradient penalty (its eq. 1, after WGAN-GP): mean over samples of (||d sum(D(x)) / dx||_2 - 1)^2,
/// built with a double backward so that minimising it trains D. The paper's pseudo-code prints "norm - 1^2";
/// Lethe implements eq. 1, which squares the difference.
/// </summary>
public static class GradientPenalty
{
    /// <summary>The penalty taken directly at the forget samples: the optimized variant's L_MEMGP.</summary>
    public static Tensor AtSamples(Func<Tensor, Tensor> model, Tensor samples) => PerSample(model, samples).mean();

    /// <summary>Each sample's term (||d sum(D(x)) / dx||_2 - 1)^2, [B], differentiable; <see cref="AtSamples"/> is their mean.</summary>
    public static Tensor PerSample(Func<Tensor, Tensor> model, Tensor samples) => At(model, samples);

    /// <summary>
    /// The penalty at interpolates z = a x_non + (1 - a) x_mem with one a ~ U(0, 1) per sample: the full variant's L_GP.
    /// Members and non-members are paired row by row; the batch is the shorter of the two.
    /// </summary>
    public static Tensor AtInterpolates(Func<Tensor, Tensor> model, Tensor members, Tensor nonMembers, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var n = Math.Min(members.shape[0], nonMembers.shape[0]);
        var m = members.narrow(0, 0, n);
        var x = nonMembers.narrow(0, 0, n);
        var shape = new long[m.dim()];
        Array.Fill(shape, 1L);
        shape[0] = n;
        var a = rand(shape, m.dtype, generator: generator).to(m.device);
        var interpolates = a * x + (1 - a) * m;
        return At(model, interpolates).mean().MoveToOuterDisposeScope();
    }

    static Tensor At(Func<Tensor, Tensor> model, Tensor inputs)
    {
        using var scope = NewDisposeScope();
        return (Norms(model, inputs, createGraph: true) - 1).pow(2).MoveToOuterDisposeScope();
    }

    /// <summary>Each sample's ||d sum(D(x)) / dx||_2, [B]: what the penalty drives to 1 (differentiable with <paramref name="createGraph"/>).</summary>
    public static Tensor Norms(Func<Tensor, Tensor> model, Tensor inputs, bool createGraph = false)
    {
        using var scope = NewDisposeScope();
        var x = inputs.detach().requires_grad_();
        var output = model(x);
        // TorchSharp does not default retain_graph to create_graph as PyTorch does: both must be set.
        var gradient = torch.autograd.grad([output.sum()], [x], retain_graph: createGraph, create_graph: createGraph)[0];
        return linalg.vector_norm(gradient.flatten(1), 2, new long[] { 1 }).MoveToOuterDisposeScope();
    }
}
