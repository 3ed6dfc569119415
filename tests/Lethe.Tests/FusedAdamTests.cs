using Lethe.Runtime;
using Lethe.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Tests;

public class FusedAdamTests
{
    /// <summary>
    /// Lethe's layout: a convolution without bias before batch norm (a bias there has only rounding noise for a gradient, which
    /// Adam magnifies); without batch norm, the convolution keeps its bias.
    /// </summary>
    static Module<Tensor, Tensor> Network(bool batchNorm = true)
    {
        manual_seed(5);
        return batchNorm
            ? Sequential(("conv", Conv2d(1, 4, 3, padding: 1, bias: false)), ("bn", BatchNorm2d(4)), ("relu", ReLU()), ("flatten", Flatten()), ("fc", Linear(4 * 6 * 6, 3)))
            : Sequential(("conv", Conv2d(1, 4, 3, padding: 1)), ("relu", ReLU()), ("flatten", Flatten()), ("fc", Linear(4 * 6 * 6, 3)));
    }

    /// <summary>Parameters after <paramref name="steps"/> Adam steps on a fixed regression, the learning rate changed halfway as the trainer's schedule does.</summary>
    static Dictionary<string, Tensor> Train(Func<IEnumerable<Parameter>, OptimizerHelper> optimizer, int steps, bool batchNorm = true)
    {
        var network = Network(batchNorm);
        var adam = optimizer(network.parameters());
        manual_seed(6);
        var inputs = randn(8, 1, 6, 6);
        var targets = randn(8, 3);
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            if (step == steps / 2) foreach (var group in adam.ParamGroups) group.LearningRate *= 0.5;
            adam.zero_grad();
            functional.mse_loss(network.forward(inputs), targets).backward();
            adam.step();
            if (adam is FusedAdam.Adam fused) Assert.True(fused.LastStepFused, "the fused step fell back to TorchSharp's");
        }
        return network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.05)]
    public void FusedStepsGiveTorchSharpAdamsParameters(double weightDecay)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var expected = Train(p => optim.Adam(p, lr: 0.01, weight_decay: weightDecay), 12);
        var actual = Train(p => new FusedAdam.Adam(p, 0.01, weightDecay), 12);
        var initial = Train(p => optim.Adam(p, lr: 0.01, weight_decay: weightDecay), 0);
        foreach (var (name, value) in expected)
        {
            Assert.True(value.allclose(actual[name], rtol: 0, atol: 1e-6), $"{name}: max difference {(value - actual[name]).abs().max().item<float>()}");
            Assert.False(value.allclose(initial[name], rtol: 0, atol: 1e-3), $"{name} did not train");
        }
    }

    /// <summary>
    /// TorchSharp's TorchScript call turns a double argument into a native scalar and keeps only its handle, so a collection
    /// between that and the call freed the scalar the kernel then read (a wrong learning rate, or "Expected false to be true").
    /// A thread that collects without pause makes that window likely; the steps must still be those of a quiet run. (The
    /// network has no batch norm: TorchSharp's BatchNorm counts batches with scalars of its own, which such a thread can
    /// free too, a race of TorchSharp's own that needs a second thread that allocates: docs/native-scalars.md.)
    /// </summary>
    [Fact]
    public void FusedStepsHoldTheirScalarsWhileTheCollectorRuns()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        const int steps = 4000;
        var expected = Train(p => new FusedAdam.Adam(p, 0.01, 0.05), steps, batchNorm: false);
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        })
        { IsBackground = true };
        collector.Start();
        Dictionary<string, Tensor> actual;
        try
        {
            actual = Train(p => new FusedAdam.Adam(p, 0.01, 0.05), steps, batchNorm: false);
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
        foreach (var (name, value) in expected) Assert.True(value.allclose(actual[name], rtol: 0, atol: 0), $"{name}: max difference {(value - actual[name]).abs().max().item<float>()}");
    }

    [Fact]
    public void FusedStateLoadsIntoTorchSharpAdamAndBack()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var network = Network();
        using var fused = new FusedAdam.Adam(network.parameters(), 0.01, 0);
        network.forward(randn(2, 1, 6, 6)).sum().backward();
        fused.step();
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) fused.save_state_dict(writer);
        stream.Position = 0;
        using var plain = optim.Adam(network.parameters(), lr: 0.01);
        using (var reader = new BinaryReader(stream)) plain.load_state_dict(reader);
        var state = (TorchSharp.Modules.Adam.State)plain.state_dict().State[0];
        Assert.Equal(1, state.step);
        Assert.True(state.exp_avg.abs().sum().item<float>() > 0);
    }
}
