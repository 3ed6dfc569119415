using Lethe.Models;
using Lethe.Runtime;
using Lethe.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Tests;

public class BatchNormFoldingTests
{
    /// <summary>A SimCLR encoder whose batch norms have non-trivial affine weights and running statistics.</summary>
    static Learner Model(string architecture, string? stem = null, bool pooled = false)
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(3);
        var encoder = new EncoderSettings { Architecture = architecture, Width = 4, FeatureDim = 16, HeadHidden = 16, HeadDim = 8, Stem = stem, Pooled = pooled };
        var model = TrainingMethods.Get("simclr").Create(new TrainingSettings { Method = "simclr", Encoder = encoder, Temperature = 0.5 }, 3, 16, 16, 10);
        using (no_grad())
        {
            foreach (var norm in model.modules().OfType<BatchNorm>())
            {
                norm.weight!.uniform_(0.5, 2.0);
                norm.bias!.uniform_(-1.0, 1.0);
            }
            model.train();
            // Shifted, scaled inputs, so that the running means and variances move well away from 0 and 1.
            for (var i = 0; i < 5; i++) model.Output(rand(8, 3, 16, 16) * 3 + 0.5);
        }
        model.eval();
        return model;
    }

    static Dictionary<string, Tensor> Snapshot(Learner model) => model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    static void AssertClose(Tensor expected, Tensor actual)
    {
        var scale = expected.abs().max().item<float>();
        var error = (expected - actual).abs().max().item<float>();
        Assert.True(scale > 0.1, $"outputs too small to compare: {scale}");
        Assert.True(error <= 1e-4 * scale, $"max difference {error} at output scale {scale}");
    }

    [Theory]
    [InlineData("small-cnn", null, false)]
    [InlineData("small-cnn", null, true)]
    [InlineData("resnet18", null, false)]
    [InlineData("resnet18", "imagenet", false)]
    public void FoldedInferenceEqualsEvalModeAndLeavesTheModelAsItWas(string architecture, string? stem, bool pooled)
    {
        using var scope = NewDisposeScope();
        var model = Model(architecture, stem, pooled);
        var before = Snapshot(model);
        var images = rand(6, 3, 16, 16) * 2;
        Tensor expectedFeatures, expectedHead;
        using (no_grad())
        {
            expectedFeatures = model.Features(images);
            expectedHead = model.Output(images);
        }

        using (var folded = ((IFoldable)model.Backbone).FoldBatchNorm())
        using (no_grad())
            AssertClose(expectedFeatures, folded.Forward(images));

        using (model.FoldBatchNorm())
        using (no_grad())
        {
            AssertClose(expectedFeatures, model.Features(images));
            AssertClose(expectedHead, model.Output(images));
        }

        foreach (var (name, value) in model.state_dict())
            Assert.True(before[name].equal(value).all().item<bool>(), $"{name} changed");
        Assert.False(model.training);
    }

    [Fact]
    public void InsideTheScopeEvalInferenceRunsTheFoldedCopyAndEverythingElseTheModel()
    {
        using var scope = NewDisposeScope();
        var model = Model("small-cnn");
        var images = rand(4, 3, 16, 16);
        var conv = model.Backbone.named_parameters().First(p => p.name.EndsWith("conv1.weight", StringComparison.Ordinal)).parameter;
        using (model.FoldBatchNorm())
        {
            Tensor folded;
            using (no_grad())
            {
                folded = model.Features(images);
                // The fold is a copy: changing the model's weight now does not reach it (this is why weights must not change inside the scope).
                conv.mul_(2);
                AssertClose(folded, model.Features(images));
            }
            // With autograd on, the model itself runs, so that gradients reach its parameters.
            var withGrad = model.Features(images);
            Assert.True(withGrad.requires_grad);
            Assert.False(withGrad.allclose(folded, rtol: 1e-3, atol: 1e-4));
            using (no_grad())
            {
                model.train();
                Assert.False(model.Features(images).allclose(folded, rtol: 1e-3, atol: 1e-4));
                model.eval();
            }
        }
    }

    [Fact]
    public void EvaluatingFoldsAndUnfoldsNestedScopes()
    {
        using var scope = NewDisposeScope();
        var model = Model("resnet18");
        var images = rand(4, 3, 16, 16);
        Tensor expected;
        using (no_grad()) expected = model.Output(images);
        model.train();
        var (outer, inner, stillFolded) = model.Evaluating(() =>
        {
            using var noGrad = no_grad();
            var nested = model.Evaluating(() => model.Output(images));
            return (model.Output(images), nested, model.Folded);
        });
        AssertClose(expected, outer);
        AssertClose(expected, inner);
        Assert.True(stillFolded);
        Assert.False(model.Folded);
        Assert.True(model.training);
    }
}
