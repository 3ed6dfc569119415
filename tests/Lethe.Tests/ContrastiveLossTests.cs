using Lethe.Audits;
using Lethe.Contrastive;
using Lethe.Losses;
using Lethe.Runtime;
using static TorchSharp.torch;

namespace Lethe.Tests;

public class ContrastiveLossTests
{
    static Tensor T(double[,] values)
    {
        TorchRuntime.EnsureLoaded();
        var rows = values.GetLength(0);
        var cols = values.GetLength(1);
        var flat = new double[rows * cols];
        Buffer.BlockCopy(values, 0, flat, 0, flat.Length * sizeof(double));
        return tensor(flat, new long[] { rows, cols });
    }

    [Fact]
    public void NtXentMatchesHandComputedValue()
    {
        // z = [e1, e2, e1, e2] (e1 twice scaled: normalisation must undo it). Each sample sees its partner at
        // cosine 1 and two others at 0, so at temperature 1 the loss is log((e + 2) / e) = log(1 + 2/e).
        using var scope = NewDisposeScope();
        var loss = NtXent.Loss(T(new double[,] { { 3, 0 }, { 0, 1 } }), T(new double[,] { { 1, 0 }, { 0, 2 } }), 1.0);
        Assert.Equal(Math.Log(1 + 2 / Math.E), loss.item<double>(), 10);
        // At temperature 0.5 the similarities double: log(1 + 2 / e^2).
        var sharper = NtXent.Loss(T(new double[,] { { 3, 0 }, { 0, 1 } }), T(new double[,] { { 1, 0 }, { 0, 2 } }), 0.5);
        Assert.Equal(Math.Log(1 + 2 / Math.Exp(2)), sharper.item<double>(), 10);
    }

    [Fact]
    public void InfoNceWithAQueueMatchesHandComputedValue()
    {
        // Logits [1, 0, -1] (positive, then the two negatives): -log(e / (e + 1 + 1/e)) = log(1 + 1/e + 1/e^2).
        using var scope = NewDisposeScope();
        var loss = InfoNce.Loss(T(new double[,] { { 2, 0 } }), T(new double[,] { { 1, 0 } }), T(new double[,] { { 0, 1 }, { -1, 0 } }), 1.0);
        Assert.Equal(Math.Log(1 + 1 / Math.E + 1 / (Math.E * Math.E)), loss.item<double>(), 10);
    }

    [Fact]
    public void ByolLossIsTwoMinusTwiceTheCosine()
    {
        using var scope = NewDisposeScope();
        // Orthogonal pair: 2; parallel pair: 0; mean 1.
        var loss = ByolRegression.Loss(T(new double[,] { { 1, 0 }, { 1, 1 } }), T(new double[,] { { 0, 2 }, { 2, 2 } }));
        Assert.Equal(1.0, loss.item<double>(), 10);
    }

    [Fact]
    public void ByolTauRunsFromItsBaseToOne()
    {
        Assert.Equal(0.99, Byol.Tau(0.99, 0), 12);
        Assert.Equal(0.995, Byol.Tau(0.99, 0.5), 12);
        Assert.Equal(1.0, Byol.Tau(0.99, 1), 12);
    }

    [Fact]
    public void MomentumUpdateIsTheWeightedAverage()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        manual_seed(1);
        var query = nn.Linear(3, 2);
        var key = nn.Linear(3, 2);
        var before = key.weight!.clone();
        ContrastiveLearner.MomentumUpdate(query, key, 0.9);
        var expected = before * 0.9 + query.weight!.detach() * 0.1;
        Assert.True(key.weight!.allclose(expected, rtol: 0, atol: 1e-7));
    }

    [Fact]
    public void KnnIsExactOnSeparatedFeatures()
    {
        using var scope = NewDisposeScope();
        // Class 0 lies near the x axis, class 1 near the y axis.
        var bank = T(new double[,] { { 1, 0.1 }, { 1, -0.1 }, { 0.1, 1 }, { -0.1, 1 }, { 0.2, 1 } });
        long[] labels = [0, 0, 1, 1, 1];
        var queries = T(new double[,] { { 1, 0 }, { 0, 1 }, { 0.9, 0.3 }, { 0.3, 0.9 } });
        Assert.Equal([0L, 1, 0, 1], KnnClassifier.Predict(bank, labels, queries, classes: 2, k: 2, temperature: 0.1));
        Assert.Equal(0.75, KnnClassifier.Accuracy(bank, labels, queries, [0, 1, 0, 0], classes: 2, k: 2));
        // With k = 5 every bank sample votes; the three class-1 votes lose to the two much closer class-0 ones.
        Assert.Equal([0L], KnnClassifier.Predict(bank, labels, T(new double[,] { { 1, 0 } }), classes: 2, k: 5, temperature: 0.05));
    }

    [Fact]
    public void AucCountsTiesAsOneHalf()
    {
        // Pairs: 0.9 beats both; each 0.5 ties 0.5 (1/2) and beats 0.1: (2 + 1.5 + 1.5) / 6.
        Assert.Equal(5.0 / 6, RocAuc.Compute([0.9, 0.5, 0.5], [0.5, 0.1]), 12);
        Assert.Equal(1.0, RocAuc.Compute([3, 4], [1, 2]), 12);
        Assert.Equal(0.0, RocAuc.Compute([1, 2], [3, 4]), 12);
        Assert.Equal(0.5, RocAuc.Compute([1, 1], [1, 1]), 12);
    }

    [Fact]
    public void ViewSimilarityGivesEveryPairOnceInRowMajorOrder()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        // Three unit views: e1, e2 and (e1 + e2) / sqrt 2. Pairs (0,1), (0,2), (1,2): 0, 1/sqrt 2, 1/sqrt 2.
        var r = 1 / Math.Sqrt(2);
        var views = tensor(new[] { 1.0, 0, 0, 1, r, r }, new long[] { 1, 3, 2 });
        Assert.Equal(new[] { 0, r, r }, ViewSimilarity.Pairwise(views).data<double>().ToArray(), new Tolerance(1e-12));
        Assert.Equal(2 * r / 3, ViewSimilarity.Mean(views).item<double>(), 12);
        // Two views take the one-pair path: the same as the three-view path restricted to the first two.
        Assert.Equal(0, ViewSimilarity.Pairwise(views.narrow(1, 0, 2)).item<double>(), 12);
        Assert.Equal(new long[] { 1, 1 }, ViewSimilarity.Pairwise(views.narrow(1, 1, 2)).shape);
        Assert.Equal(r, ViewSimilarity.Pairwise(views.narrow(1, 1, 2)).item<double>(), 12);
    }

    [Fact]
    public void OutputNormIsTheMeanRowNormAndInfoNcePerSampleAveragesToTheLoss()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        Assert.Equal(3.0, OutputNorm.Loss(T(new double[,] { { 3, 4 }, { 0, 1 } })).item<double>(), 12); // (5 + 1) / 2
        var queries = T(new double[,] { { 2, 0 }, { 1, 1 } });
        var keys = nn.functional.normalize(T(new double[,] { { 1, 0 }, { 0, 1 } }), dim: 1);
        var negatives = T(new double[,] { { 0, 1 }, { -1, 0 } });
        var perSample = InfoNce.PerSample(queries, keys, negatives, 0.5);
        Assert.Equal(InfoNce.Loss(queries, keys, negatives, 0.5).item<double>(), perSample.mean().item<double>(), 12);
        Assert.Equal(Math.Log(1 + 1 / Math.E + 1 / (Math.E * Math.E)), InfoNce.PerSample(queries.narrow(0, 0, 1), keys.narrow(0, 0, 1), negatives, 1.0).item<double>(), 10);
    }

    sealed class Tolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
