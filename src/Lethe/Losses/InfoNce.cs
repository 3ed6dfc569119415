using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Lethe.Losses;

/// <summary>
/// InfoNCE with a queue of negatives (MoCo, He et al. 2020): for each query, cross-entropy of picking its positive key
/// (cosine similarity) against the negatives, similarities divided by the temperature. Keys and negatives are
/// L2-normalised rows; the queue is read, never changed: the caller enqueues.
/// </summary>
public static class InfoNce
{
    /// <summary>The mean over the batch.</summary>
    public static Tensor Loss(Tensor queries, Tensor keys, Tensor negatives, double temperature) =>
        F.cross_entropy(Logits(queries, keys, negatives, temperature), Positives(queries));

    /// <summary>One loss per query (the per-sample form the audits' loss signal reads).</summary>
    public static Tensor PerSample(Tensor queries, Tensor keys, Tensor negatives, double temperature)
    {
        using var scope = NewDisposeScope();
        var logits = Logits(queries, keys, negatives, temperature);
        return (logits.logsumexp(1) - logits[TensorIndex.Colon, 0]).MoveToOuterDisposeScope();
    }

    static Tensor Logits(Tensor queries, Tensor keys, Tensor negatives, double temperature)
    {
        using var scope = NewDisposeScope();
        var q = F.normalize(queries, dim: 1);
        var positive = (q * keys).sum(1, keepdim: true);
        var negative = matmul(q, negatives.t());
        return (cat([positive, negative], 1) / temperature).MoveToOuterDisposeScope();
    }

    static Tensor Positives(Tensor queries) => zeros(queries.shape[0], ScalarType.Int64, device: queries.device);
}
