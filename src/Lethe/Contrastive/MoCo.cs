using Lethe.Losses;
using Lethe.Models;
using Lethe.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Lethe.Contrastive;

/// <summary>
/// MoCo v2 (He et al. 2020; Chen et al. 2020): a query encoder trained against keys from a momentum copy of itself, with
/// a queue of past keys as negatives. The loss is symmetrised over the two views, as in solo-learn, which trains small
/// data sets better than the original one-sided loss. The queue lives here; <see cref="InfoNce"/> only reads it.
/// </summary>
public sealed class MoCo : ContrastiveLearner
{
#pragma warning disable IDE1006
    readonly Module<Tensor, Tensor> key_backbone;
    readonly Module<Tensor, Tensor> key_projector;
    readonly Tensor queue;
    readonly Tensor queue_ptr;
#pragma warning restore IDE1006

    public MoCo(TrainingSettings recipe, int channels, int height, int width) : base("moco", recipe, channels, height, width)
    {
        if (recipe.QueueSize < 1) throw new LetheException($"MoCo queue size must be positive, not {recipe.QueueSize}");
        if (recipe.KeyMomentum is < 0 or > 1) throw new LetheException($"MoCo momentum must lie in [0, 1], not {recipe.KeyMomentum}");
        key_backbone = NewBackbone();
        key_projector = Backbones.Mlp(Backbones.FeatureDim(key_backbone), recipe.Encoder.HeadHidden, recipe.Encoder.HeadDim, recipe.Encoder.HeadNorm);
        queue = F.normalize(randn(recipe.QueueSize, recipe.Encoder.HeadDim), dim: 1);
        queue_ptr = zeros(1, ScalarType.Int64);
        register_buffer("queue", queue);
        register_buffer("queue_ptr", queue_ptr);
        RegisterComponents();
        CopyAndFreeze(backbone, key_backbone);
        CopyAndFreeze(projector, key_projector);
    }

    /// <summary>The queue of negative keys, K x D, rows L2-normalised.</summary>
    public Tensor Queue => queue;

    public long QueuePointer => queue_ptr.item<long>();

    /// <summary>The symmetrised InfoNCE of the two views; the step's keys then join the queue (a training step consumes them).</summary>
    public override Tensor Loss(Tensor first, Tensor second)
    {
        using var scope = NewDisposeScope();
        var q1 = Project(first);
        var q2 = Project(second);
        Tensor k1, k2;
        using (no_grad())
        {
            k1 = F.normalize(key_projector.forward(key_backbone.forward(first)), dim: 1);
            k2 = F.normalize(key_projector.forward(key_backbone.forward(second)), dim: 1);
        }
        var negatives = queue.clone(); // a snapshot: Enqueue changes the queue in place before backward runs
        var loss = (InfoNce.Loss(q1, k2, negatives, Recipe.Temperature) + InfoNce.Loss(q2, k1, negatives, Recipe.Temperature)) / 2;
        Enqueue(cat([k1, k2], 0));
        return loss.MoveToOuterDisposeScope();
    }

    public override void AfterStep(double progress) => UpdateKeyEncoder();

    /// <summary>key = m * key + (1 - m) * query, for backbone and head.</summary>
    public void UpdateKeyEncoder()
    {
        MomentumUpdate(backbone, key_backbone, Recipe.KeyMomentum);
        MomentumUpdate(projector, key_projector, Recipe.KeyMomentum);
    }

    /// <summary>Writes keys into the queue at its pointer, wrapping around at the end; the oldest keys are replaced.</summary>
    public void Enqueue(Tensor keys)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var size = queue.shape[0];
        var count = keys.shape[0];
        if (count > size) keys = keys[(int)(count - size)..];
        count = keys.shape[0];
        // The pointer stays on the queue's device: reading it on the host every step would wait for the GPU.
        var rows = (arange(count, ScalarType.Int64, device: queue.device) + queue_ptr).remainder(size);
        queue.index_copy_(0, rows, keys.detach().to(queue.dtype));
        queue_ptr.add_(count).remainder_(size);
    }
}
