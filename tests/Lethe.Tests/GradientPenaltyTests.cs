using Lethe.Losses;
using Lethe.Runtime;
using Lethe.Unlearning;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Tests;

public class GradientPenaltyTests
{
    static (Parameter W, Func<Tensor, Tensor> D) Linear(double[] weights, int outputs, int inputs)
    {
        TorchRuntime.EnsureLoaded();
        var w = new Parameter(tensor(weights, new long[] { outputs, inputs }));
        return (w, x => matmul(x, w.t()));
    }

    // For D(x) = W x, d sum(D(x)) / dx = W^T 1 at every x, so the penalty is (||W^T 1|| - 1)^2.
    static double HandPenalty(double[] w, int outputs, int inputs)
    {
        double norm = 0;
        for (var j = 0; j < inputs; j++)
        {
            double column = 0;
            for (var i = 0; i < outputs; i++) column += w[i * inputs + j];
            norm += column * column;
        }
        return Math.Pow(Math.Sqrt(norm) - 1, 2);
    }

    static readonly double[] Weights = [0.5, -1.0, 2.0, 1.5, 0.25, -0.75];

    [Fact]
    public void MemGpOfALinearModelIsTheHandComputedValue()
    {
        using var scope = NewDisposeScope();
        var (_, d) = Linear(Weights, 2, 3);
        var x = randn(new long[] { 4, 3 }, ScalarType.Float64);
        // W^T 1 = (2, -0.75, 1.25): norm sqrt(6.125), penalty (2.47487 - 1)^2.
        Assert.Equal(HandPenalty(Weights, 2, 3), GradientPenalty.AtSamples(d, x).item<double>(), 10);
        Assert.Equal(Math.Pow(Math.Sqrt(6.125) - 1, 2), HandPenalty(Weights, 2, 3), 12);
    }

    [Fact]
    public void InterpolatePenaltyOfALinearModelIsTheHandComputedValue()
    {
        using var scope = NewDisposeScope();
        var (_, d) = Linear(Weights, 2, 3);
        using var generator = new Generator(4);
        var penalty = GradientPenalty.AtInterpolates(d, randn(new long[] { 5, 3 }, ScalarType.Float64), randn(new long[] { 3, 3 }, ScalarType.Float64), generator);
        Assert.Equal(HandPenalty(Weights, 2, 3), penalty.item<double>(), 10);
    }

    [Fact]
    public void PenaltyOfANonLinearModelIsPerSample()
    {
        // D(x) = sum(x^2) per sample: the gradient is 2x, so the penalty is the mean of (2||x|| - 1)^2.
        using var scope = NewDisposeScope();
        TorchRuntime.EnsureLoaded();
        var x = tensor(new double[] { 3, 4, 0, 0.5, 0, 0 }, new long[] { 3, 2 });
        var penalty = GradientPenalty.AtSamples(v => v.pow(2).sum(1), x).item<double>();
        Assert.Equal((Math.Pow(10 - 1, 2) + Math.Pow(1 - 1, 2) + Math.Pow(0 - 1, 2)) / 3, penalty, 10);
    }

    [Fact]
    public void PenaltyGradientWithRespectToTheWeightsMatchesFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        TorchRuntime.EnsureLoaded();
        // A non-linear model, so that the gradient depends on x and the double backward matters.
        manual_seed(3);
        var w1 = new Parameter(randn(new long[] { 4, 3 }, ScalarType.Float64));
        var w2 = new Parameter(randn(new long[] { 2, 4 }, ScalarType.Float64));
        Tensor D(Tensor x) => matmul(matmul(x, w1.t()).tanh(), w2.t());
        var x = randn(new long[] { 5, 3 }, ScalarType.Float64);

        GradientPenalty.AtSamples(D, x).backward();
        var analytic = w1.grad!.clone();

        const double h = 1e-6;
        for (var i = 0; i < 4; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                double Penalty(double delta)
                {
                    using (no_grad()) w1[i, j].add_(delta);
                    var value = GradientPenalty.AtSamples(D, x).item<double>();
                    using (no_grad()) w1[i, j].sub_(delta);
                    return value;
                }
                var numeric = (Penalty(h) - Penalty(-h)) / (2 * h);
                Assert.Equal(numeric, analytic[i, j].item<double>(), 5);
            }
        }
    }

    [Fact]
    public void StepsOnThePenaltyLowerIt()
    {
        using var scope = NewDisposeScope();
        TorchRuntime.EnsureLoaded();
        manual_seed(5);
        var model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4));
        var x = randn(8, 6) * 3;
        var optimizer = optim.Adam(model.parameters(), lr: 0.01);
        var first = GradientPenalty.AtSamples(model.forward, x).item<float>();
        for (var step = 0; step < 30; step++)
        {
            optimizer.zero_grad();
            GradientPenalty.AtSamples(model.forward, x).backward();
            optimizer.step();
        }
        Assert.True(GradientPenalty.AtSamples(model.forward, x).item<float>() < first / 2);
    }
}
