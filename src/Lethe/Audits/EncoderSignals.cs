using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Losses;
using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>
/// What a supervised membership attack reads from a model's prediction on one clean image: the top-k softmax
/// probabilities (descending), the entropy of the whole distribution, and the sample's loss. An encoder is read as
/// a classifier over its output dimensions, as the paper does. <see cref="Correct"/> says, for a classifier, whether
/// the top class is the true label (null for encoders, which have no labels).
/// </summary>
public sealed record PredictionSignals(double[][] TopProbabilities, double[] Entropy, double[] Loss, bool[]? Correct = null)
{
    public int Count => Entropy.Length;

    public double[] Top1 => [.. TopProbabilities.Select(p => p[0])];

    /// <summary>Sum of the three highest probabilities (fewer when the output is narrower).</summary>
    public double[] Top3 => [.. TopProbabilities.Select(p => p.Take(3).Sum())];
}

/// <summary>
/// Per-sample signals of one encoder output (backbone features or projection-head output) over a group of images.
/// <see cref="SortedSimilarities"/> are the n(n-1)/2 pairwise cosine similarities of n augmented views, descending
/// (EncoderMI's vector attack); <see cref="Similarity"/> is their mean (its threshold attack, and the paper's
/// positive-pair cosine similarity). <see cref="Embedding"/> is the L2-normalised output on the clean image.
/// </summary>
public sealed record OutputSignals(double[] Similarity, double[][] SortedSimilarities, PredictionSignals Prediction, float[][] Embedding)
{
    public int Count => Similarity.Length;
}

/// <summary>Signals of one group of images under one encoder, on both outputs.</summary>
public sealed record EncoderSignals(int[] Ids, OutputSignals Backbone, OutputSignals Head)
{
    public OutputSignals Output(string name) => name == "backbone" ? Backbone : Head;

    /// <summary>
    /// Scores <paramref name="ids"/> of <paramref name="images"/>. The per-sample loss is the contrastive loss of the
    /// first two views as the positive pair against the clean outputs of <paramref name="reference"/> images as
    /// negatives, at <paramref name="temperature"/>, so that every group is measured against the same negatives.
    /// The same <paramref name="seed"/> gives the same views to the same ids under any model.
    /// </summary>
    public static EncoderSignals Compute(
        ContrastiveLearner model, ImageSet images, IReadOnlyList<int> ids, ImageSet referenceImages, IReadOnlyList<int> reference,
        ContrastiveAugmentation augmentation, int views, int topK, double temperature, long seed, Device device, int chunk = 128)
    {
        if (views < 2) throw new LetheException($"membership signals need at least 2 views, not {views}");
        if (reference.Count == 0) throw new LetheException("the per-sample loss needs reference images as negatives");
        return model.Evaluating(() =>
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var (referenceBackbone, referenceHead) = CleanOutputs(model, referenceImages, reference, device, chunk);
            var backbone = new Accumulator();
            var head = new Accumulator();
            using var generator = new Generator((ulong)seed);
            for (var start = 0; start < ids.Count; start += chunk)
            {
                using var inner = NewDisposeScope();
                var batch = ids.Skip(start).Take(chunk).ToArray();
                var clean = images.Batch(batch, device);
                var features = model.Features(clean);
                var projected = model.Projector.forward(features);
                var (backboneViews, headViews) = Views(model, clean, augmentation, views, generator);
                backbone.Add(features, backboneViews, referenceBackbone, topK, temperature);
                head.Add(projected, headViews, referenceHead, topK, temperature);
            }
            return new EncoderSignals([.. ids], backbone.Build(), head.Build());
        });
    }

    /// <summary>Images per forward pass of the views: several views of a chunk go through the model at once.</summary>
    public const int ViewBatch = 1024;

    /// <summary>
    /// <paramref name="views"/> augmented views of each image, L2-normalised, on both outputs: [B, views, d] each. The
    /// views are drawn one after the other (the same draws as one view at a time), then passed through the model
    /// together, up to <see cref="ViewBatch"/> images at once: larger batches keep the kernels busier. Evaluation mode
    /// only, where batch norm uses its running statistics and a sample's output does not depend on its batch.
    /// </summary>
    public static (Tensor Backbone, Tensor Head) Views(ContrastiveLearner model, Tensor clean, ContrastiveAugmentation augmentation, int views, Generator generator)
    {
        if (model.training) throw new InvalidOperationException("views are batched together, which only evaluation mode allows");
        var b = clean.shape[0];
        var perPass = (int)Math.Max(1, ViewBatch / Math.Max(1, b));
        var backbone = new List<Tensor>();
        var head = new List<Tensor>();
        for (var first = 0; first < views; first += perPass)
        {
            var count = Math.Min(perPass, views - first);
            var augmented = cat([.. Enumerable.Range(0, count).Select(_ => augmentation.Apply(clean, generator))], 0); // view-major: [count * B, C, H, W]
            var f = model.Features(augmented);
            head.Add(nn.functional.normalize(model.Projector.forward(f), dim: 1).view(count, b, -1));
            backbone.Add(nn.functional.normalize(f, dim: 1).view(count, b, -1));
        }
        return (cat(backbone, 0).transpose(0, 1), cat(head, 0).transpose(0, 1));
    }

    static (Tensor Backbone, Tensor Head) CleanOutputs(ContrastiveLearner model, ImageSet images, IReadOnlyList<int> ids, Device device, int chunk)
    {
        var backbone = new List<Tensor>();
        var head = new List<Tensor>();
        for (var start = 0; start < ids.Count; start += chunk)
        {
            var clean = images.Batch(ids.Skip(start).Take(chunk).ToArray(), device);
            var features = model.Features(clean);
            backbone.Add(nn.functional.normalize(features, dim: 1));
            head.Add(nn.functional.normalize(model.Projector.forward(features), dim: 1));
        }
        return (cat(backbone, 0), cat(head, 0));
    }

    sealed class Accumulator
    {
        readonly List<double> similarity = [];
        readonly List<double[]> sorted = [];
        readonly List<double[]> top = [];
        readonly List<double> entropy = [];
        readonly List<double> loss = [];
        readonly List<float[]> embedding = [];

        /// <summary>Adds a chunk: raw clean outputs [B, d], normalised views [B, n, d], normalised reference outputs [m, d].</summary>
        public void Add(Tensor clean, Tensor views, Tensor reference, int topK, double temperature)
        {
            var sortedPairs = ViewSimilarity.Pairwise(views).sort(1, descending: true).Values;
            var probabilities = nn.functional.softmax(clean, 1);
            var k = (int)Math.Min(topK, clean.shape[1]);
            var topProbabilities = probabilities.topk(k, 1).values;
            var entropies = -(probabilities * probabilities.clamp_min(1e-30).log()).sum(1);
            // The first two views as query and positive key, the reference outputs as the negatives.
            var losses = InfoNce.PerSample(views[TensorIndex.Colon, 0], views[TensorIndex.Colon, 1], reference, temperature);
            var embeddings = nn.functional.normalize(clean, dim: 1);

            var b = (int)clean.shape[0];
            var sortedRows = Rows(sortedPairs);
            var topRows = Rows(topProbabilities);
            var embeddingValues = embeddings.to(ScalarType.Float32).cpu().data<float>().ToArray();
            var d = (int)embeddings.shape[1];
            similarity.AddRange(sortedRows.Select(r => r.Average()));
            sorted.AddRange(sortedRows);
            top.AddRange(topRows);
            entropy.AddRange(Values(entropies));
            loss.AddRange(Values(losses));
            for (var i = 0; i < b; i++) embedding.Add(embeddingValues.AsSpan(i * d, d).ToArray());
        }

        public OutputSignals Build() => new([.. similarity], [.. sorted], new PredictionSignals([.. top], [.. entropy], [.. loss]), [.. embedding]);

        static double[] Values(Tensor t) => t.to(ScalarType.Float64).cpu().data<double>().ToArray();

        static double[][] Rows(Tensor t)
        {
            var width = (int)t.shape[1];
            var values = Values(t.contiguous());
            return [.. Enumerable.Range(0, (int)t.shape[0]).Select(i => values.AsSpan(i * width, width).ToArray())];
        }
    }
}
