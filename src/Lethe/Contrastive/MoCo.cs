using Lethe.Models;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Lethe.Contrastive;

/// <summary>
/// MoCo v2 (He et al. 2020; Chen et al. 2020): a query encoder trained against keys from a momentum copy of
/// itself, with a queue of past keys as negatives. The loss is symmetrised over the two views, as in
/// solo-learn, which trains small data sets better than the original one-sided loss.
/// </summary>
public sealed class MoCo : ContrastiveModel
{
#pragma warning disable IDE1006
    readonly Module<Tensor, Tensor> key_backbone;
    readonly Module<Tensor, Tensor> key_projector;
    readonly Tensor queue;
    readonly Tensor queue_ptr;
#pragma warning restore IDE1006

    public MoCo(Func<Module<Tensor, Tensor>> createBackbone, EncoderSettings encoder, double temperature, int queueSize, double momentum)
        : base("moco", createBackbone, encoder)
    {
        if (queueSize < 1) throw new LetheException($"MoCo queue size must be positive, not {queueSize}");
        if (momentum is < 0 or > 1) throw new LetheException($"MoCo momentum must lie in [0, 1], not {momentum}");
        Temperature = temperature;
        Momentum = momentum;
        key_backbone = createBackbone();
        key_projector = Backbones.Mlp(Backbones.FeatureDim(key_backbone), encoder.HeadHidden, encoder.HeadDim);
        queue = F.normalize(randn(queueSize, encoder.HeadDim), dim: 1);
        queue_ptr = zeros(1, ScalarType.Int64);
        register_buffer("queue", queue);
        register_buffer("queue_ptr", queue_ptr);
        RegisterComponents();
        CopyAndFreeze(backbone, key_backbone);
        CopyAndFreeze(projector, key_projector);
    }

    public double Temperature { get; }

    public double Momentum { get; }

    public override string Method => "moco";

    /// <summary>The queue of negative keys, K x D, rows L2-normalised.</summary>
    public Tensor Queue => queue;

    public long QueuePointer => queue_ptr.item<long>();

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
        var loss = (InfoNce(q1, k2, negatives, Temperature) + InfoNce(q2, k1, negatives, Temperature)) / 2;
        Enqueue(cat([k1, k2], 0));
        return loss.MoveToOuterDisposeScope();
    }

    public override void AfterStep(double progress) => UpdateKeyEncoder();

    /// <summary>key = m * key + (1 - m) * query, for backbone and head.</summary>
    public void UpdateKeyEncoder()
    {
        MomentumUpdate(backbone, key_backbone, Momentum);
        MomentumUpdate(projector, key_projector, Momentum);
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
        var ptr = queue_ptr.item<long>();
        var rows = (arange(count, ScalarType.Int64) + ptr).remainder(size);
        queue.index_copy_(0, rows.to(queue.device), keys.detach().to(queue.dtype));
        queue_ptr.fill_((ptr + count) % size);
    }

    /// <summary>
    /// InfoNCE with a queue: for each query, cross-entropy of picking its positive key (cosine similarity)
    /// against the queued negatives, similarities divided by the temperature. Keys and queue are normalised.
    /// </summary>
    public static Tensor InfoNce(Tensor queries, Tensor keys, Tensor negatives, double temperature)
    {
        using var scope = NewDisposeScope();
        var q = F.normalize(queries, dim: 1);
        var positive = (q * keys).sum(1, keepdim: true);
        var negative = matmul(q, negatives.t());
        var logits = cat([positive, negative], 1) / temperature;
        var target = zeros(q.shape[0], ScalarType.Int64, device: q.device);
        return F.cross_entropy(logits, target).MoveToOuterDisposeScope();
    }
}
