using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Models;

/// <summary>
/// Eval-mode inference with each batch norm merged into the convolution (or linear layer) before it. In eval mode batch
/// norm is a fixed per-channel affine map, so conv then batch norm is one conv with its weight scaled by
/// gamma / sqrt(var + eps) and bias beta - gamma * mean / sqrt(var + eps): one pass over the activations fewer.
/// The folded weights are new tensors; the model, its checkpoints and its running statistics do not change.
/// </summary>
public static class BatchNormFolding
{
    /// <summary>On unless LETHE_BN_FOLD=0 (for A/B runs against the unfolded path).</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("LETHE_BN_FOLD") != "0";

    /// <summary>A convolution followed by a batch norm, as one convolution with a bias.</summary>
    public static FoldedInference Fold(Conv2d conv, BatchNorm2d norm)
    {
        var (weight, bias) = FoldWeights(conv.weight!, conv.bias, norm);
        var stride = conv.stride;
        var padding = conv.padding;
        var dilation = conv.dilation;
        var groups = conv.groups;
        return new FoldedInference(x => functional.conv2d(x, weight, bias, stride, padding, dilation, groups), [weight, bias]);
    }

    /// <summary>A linear layer followed by a batch norm, as one linear layer with a bias.</summary>
    public static FoldedInference Fold(Linear linear, BatchNorm1d norm)
    {
        var (weight, bias) = FoldWeights(linear.weight!, linear.bias, norm);
        return new FoldedInference(x => functional.linear(x, weight, bias), [weight, bias]);
    }

    /// <summary>
    /// A Sequential's layers in order, each convolution or linear layer that a batch norm directly follows folded with
    /// it; the other layers (activations, pooling, an unpaired linear layer) run as they are.
    /// </summary>
    public static FoldedInference Sequence(Module<Tensor, Tensor> sequential)
    {
        var layers = sequential.children().ToArray();
        var parts = new List<FoldedInference>();
        for (var i = 0; i < layers.Length; i++)
        {
            var next = i + 1 < layers.Length ? layers[i + 1] : null;
            switch (layers[i], next)
            {
                case (Conv2d conv, BatchNorm2d norm) when Foldable(norm):
                    parts.Add(Fold(conv, norm));
                    i++;
                    break;
                case (Linear linear, BatchNorm1d norm) when Foldable(norm):
                    parts.Add(Fold(linear, norm));
                    i++;
                    break;
                case (Sequential inner, _):
                    parts.Add(Sequence(inner));
                    break;
                case (IFoldable foldable, _):
                    parts.Add(foldable.FoldBatchNorm());
                    break;
                case (Module<Tensor, Tensor> layer, _):
                    parts.Add(FoldedInference.Unchanged(layer));
                    break;
                default:
                    throw new LetheException($"cannot fold batch norm through a {layers[i].GetType().Name}");
            }
        }
        return FoldedInference.Chain([.. parts]);
    }

    /// <summary>Only a batch norm with running statistics is a fixed map in eval mode.</summary>
    static bool Foldable(BatchNorm norm) => norm.running_mean is not null && norm.running_var is not null;

    static (Tensor Weight, Tensor Bias) FoldWeights(Tensor weight, Tensor? bias, BatchNorm norm)
    {
        if (!Foldable(norm)) throw new LetheException("a batch norm without running statistics cannot be folded");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        // In double precision, so that folding adds no rounding beyond the final cast.
        var dtype = weight.dtype;
        var mean = norm.running_mean!.to(ScalarType.Float64);
        var scale = (norm.running_var!.to(ScalarType.Float64) + norm.eps).rsqrt();
        if (norm.weight is { } gamma) scale = scale * gamma.to(ScalarType.Float64);
        var shift = norm.bias is { } beta ? beta.to(ScalarType.Float64) : zeros_like(mean);
        var shape = new long[weight.dim()];
        Array.Fill(shape, 1L);
        shape[0] = -1;
        var folded = (weight.to(ScalarType.Float64) * scale.view(shape)).to(dtype);
        var offset = bias is null ? -mean : bias.to(ScalarType.Float64) - mean;
        var foldedBias = (shift + offset * scale).to(dtype);
        return (folded.DetachFromDisposeScope(), foldedBias.DetachFromDisposeScope());
    }
}

/// <summary>A network that can run eval-mode inference with its batch norms folded (<see cref="BatchNormFolding"/>).</summary>
public interface IFoldable
{
    /// <summary>The network's eval-mode forward with each convolution and its batch norm merged; the network is left as it is.</summary>
    FoldedInference FoldBatchNorm();
}

/// <summary>
/// An eval-mode forward with folded batch norms: a function of the input that owns only the folded weights it made
/// (the unchanged layers it calls belong to the model). Valid while the model's weights and running statistics stay as
/// they were when it was folded.
/// </summary>
public sealed class FoldedInference(Func<Tensor, Tensor> forward, IReadOnlyList<Tensor> owned) : IDisposable
{
    readonly IReadOnlyList<Tensor> owned = owned;

    public Tensor Forward(Tensor input) => forward(input);

    /// <summary>A forward of its own over folded parts, which it then owns (their weights are freed with it).</summary>
    public static FoldedInference Over(Func<Tensor, Tensor> forward, params FoldedInference?[] parts) =>
        new(forward, [.. parts.SelectMany(p => p?.owned ?? [])]);

    /// <summary>A layer without batch norm, run as it is.</summary>
    public static FoldedInference Unchanged(Module<Tensor, Tensor> layer) => new(layer.forward, []);

    /// <summary>Parts run one after another.</summary>
    public static FoldedInference Chain(params FoldedInference[] parts) => Over(x =>
    {
        // Each intermediate result is freed once the next part has run (a Sequential leaves them to the dispose scope),
        // so that the allocator can reuse its memory within the same forward.
        var y = x;
        foreach (var part in parts)
        {
            var next = part.Forward(y);
            if (!ReferenceEquals(y, x) && !ReferenceEquals(next, y)) y.Dispose();
            y = next;
        }
        return y;
    }, parts);

    public void Dispose()
    {
        foreach (var tensor in owned) tensor.Dispose();
    }
}
