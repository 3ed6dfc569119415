using Lethe.Data;
using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>A classifier's predictions on clean images, as the supervised attacks read them.</summary>
public static class ClassifierSignals
{
    /// <summary>Softmax over the classes (top-k, descending), its entropy, and the cross-entropy loss with the true label.</summary>
    public static PredictionSignals Compute(Learner model, ImageSet images, IReadOnlyList<int> ids, int topK, Device device, int chunk = 256) =>
        model.Evaluating(() => Compute(model.forward, images, ids, topK, device, chunk));

    /// <summary>The same signals for any predictor given as a function from images to logits (or log-probabilities).</summary>
    public static PredictionSignals Compute(Func<Tensor, Tensor> logitsOf, ImageSet images, IReadOnlyList<int> ids, int topK, Device device, int chunk = 256)
    {
        using var noGrad = no_grad();
        var top = new List<double[]>();
        var entropy = new List<double>();
        var loss = new List<double>();
        var correct = new List<bool>();
        for (var start = 0; start < ids.Count; start += chunk)
        {
            using var scope = NewDisposeScope();
            var batch = ids.Skip(start).Take(chunk).ToArray();
            // Double precision: a memorising classifier's top probability rounds to exactly 1 in float32, which would tie members.
            var logits = logitsOf(images.Batch(batch, device)).to(ScalarType.Float64);
            var logProbabilities = nn.functional.log_softmax(logits, 1);
            var probabilities = logProbabilities.exp();
            var k = (int)Math.Min(topK, logits.shape[1]);
            var topValues = probabilities.topk(k, 1).values.to(ScalarType.Float64).cpu().data<double>().ToArray();
            for (var i = 0; i < batch.Length; i++) top.Add(topValues.AsSpan(i * k, k).ToArray());
            entropy.AddRange(Values(-(probabilities * logProbabilities).sum(1)));
            var labels = images.LabelBatch(batch, device);
            loss.AddRange(Values(nn.functional.nll_loss(logProbabilities, labels, reduction: nn.Reduction.None)));
            correct.AddRange(logits.argmax(1).eq(labels).cpu().data<bool>().ToArray());
        }
        return new PredictionSignals([.. top], [.. entropy], [.. loss], [.. correct]);
    }

    /// <summary>Share of <paramref name="ids"/> the classifier labels correctly.</summary>
    public static double Accuracy(Learner model, ImageSet images, IReadOnlyList<int> ids, Device device, int chunk = 512) =>
        model.Evaluating(() => Accuracy(model.forward, images, ids, device, chunk));

    /// <summary>Share of <paramref name="ids"/> a predictor (images to logits) labels correctly.</summary>
    public static double Accuracy(Func<Tensor, Tensor> logitsOf, ImageSet images, IReadOnlyList<int> ids, Device device, int chunk = 512)
    {
        using var noGrad = no_grad();
        long correct = 0;
        for (var start = 0; start < ids.Count; start += chunk)
        {
            using var scope = NewDisposeScope();
            var batch = ids.Skip(start).Take(chunk).ToArray();
            correct += logitsOf(images.Batch(batch, device)).argmax(1).eq(images.LabelBatch(batch, device)).sum().item<long>();
        }
        return (double)correct / ids.Count;
    }

    static double[] Values(Tensor t) => t.to(ScalarType.Float64).cpu().data<double>().ToArray();
}
