using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>
/// Weighted k-nearest-neighbour classification on L2-normalised features, the InstDisc / MoCo monitor:
/// each of the k most cosine-similar bank samples votes for its class with weight exp(similarity / T).
/// </summary>
public static class KnnClassifier
{
    /// <summary>Predicted class of each query.</summary>
    public static long[] Predict(Tensor bank, long[] bankLabels, Tensor queries, int classes, int k = 200, double temperature = 0.1, int chunk = 512)
    {
        if (bank.shape[0] != bankLabels.Length) throw new ArgumentException("one label per bank sample");
        using var scope = NewDisposeScope();
        var b = nn.functional.normalize(bank, dim: 1);
        var labels = tensor(bankLabels, device: bank.device);
        var neighbours = (int)Math.Min(k, b.shape[0]);
        var predictions = new List<long>();
        for (long start = 0; start < queries.shape[0]; start += chunk)
        {
            using var inner = NewDisposeScope();
            var q = nn.functional.normalize(queries.narrow(0, start, Math.Min(chunk, queries.shape[0] - start)), dim: 1);
            var (similarity, index) = matmul(q, b.t()).topk(neighbours, dim: 1);
            var weights = (similarity / temperature).exp();
            var votes = zeros(q.shape[0], classes, dtype: weights.dtype, device: q.device).scatter_add_(1, labels[index], weights);
            predictions.AddRange(votes.argmax(1).cpu().data<long>().ToArray()); // data<T> reads host memory only
        }
        return [.. predictions];
    }

    /// <summary>Fraction of queries whose predicted class equals their label.</summary>
    public static double Accuracy(Tensor bank, long[] bankLabels, Tensor queries, long[] queryLabels, int classes, int k = 200, double temperature = 0.1)
    {
        var predicted = Predict(bank, bankLabels, queries, classes, k, temperature);
        return predicted.Zip(queryLabels).Count(p => p.First == p.Second) / (double)queryLabels.Length;
    }
}
