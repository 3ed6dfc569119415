using Lethe.Losses;
using Lethe.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Lethe.Tests;

[Collection(TorchThreads.Name)]
public class TorchRuntimeTests
{
    [Fact]
    public void LoadsAndMultipliesMatrices()
    {
        TorchRuntime.Initialize(new RuntimeSettings(Threads: 2));
        using var a = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        using var b = tensor(new float[] { 5, 6, 7, 8 }, new long[] { 2, 2 });
        using var c = matmul(a, b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
        Assert.Equal(2, get_num_threads());
    }

    [Fact]
    public void DoubleBackwardGivesHandComputedSecondDerivative()
    {
        TorchRuntime.EnsureLoaded();
        // f(x) = sum(x^3 * w): df/dx = 3 x^2 w; then h = sum((df/dx)^2) has dh/dw = 2 (3 x^2 w) 3 x^2 = 18 x^4 w.
        using var scope = NewDisposeScope();
        var x = tensor(new double[] { 1, 2, -1 }).requires_grad_();
        var w = tensor(new double[] { 0.5, -1, 2 }).requires_grad_();
        var f = (x.pow(3) * w).sum();
        var g = torch.autograd.grad([f], [x], retain_graph: true, create_graph: true)[0];
        Assert.Equal(new[] { 1.5, -12, 6 }, g.data<double>().ToArray());
        var h = g.pow(2).sum();
        h.backward();
        Assert.Equal(new[] { 9.0, -288, 36 }, w.grad!.data<double>().ToArray());
        // dh/dx = 2 g * d(3 x^2 w)/dx = 2 (3 x^2 w)(6 x w) = 36 x^3 w^2.
        Assert.Equal(new[] { 9.0, 288, -144 }, x.grad!.data<double>().ToArray());
    }

    [Fact]
    public void InputGradientIsFiniteWhateverFreedMemoryHeld()
    {
        // On an AMD EPYC, libtorch's conv2d gradient with respect to a 1-channel input read uninitialised memory; with NaN
        // left in the heap by freed tensors it came out NaN (the gradient penalty at random). The start-up check now
        // zero-fills wherever a kernel does that (docs/allocation-fill.md); where none does, this passes without a fill.
        TorchRuntime.Initialize(new RuntimeSettings(Threads: 1));
        using var weight = rand(8, 1, 3, 3);
        for (var round = 0; round < 10; round++)
        {
            using var scope = NewDisposeScope();
            var junk = new List<Tensor>();
            for (long n = 256; n < 1 << 20; n = n * 5 / 4 + 16) junk.Add(full(n, float.NaN));
            foreach (var t in junk) t.Dispose();
            var norms = GradientPenalty.Norms(x => F.conv2d(x, weight, padding: [1, 1]), rand(8, 1, 12, 12));
            Assert.True(isfinite(norms).all().item<bool>(), $"the input gradient held NaN or infinity in round {round}");
        }
    }

    [Fact]
    public void UnknownOrUnavailableDeviceIsAClearError()
    {
        Assert.Equal(DeviceType.CPU, TorchRuntime.ParseDevice("CPU").type);
        Assert.Contains("unknown device", Assert.Throws<LetheException>(() => TorchRuntime.ParseDevice("tpu")).Message);
        if (!torch.cuda.is_available())
            Assert.Contains("no CUDA device", Assert.Throws<LetheException>(() => TorchRuntime.ParseDevice("cuda")).Message);
        Assert.Throws<LetheException>(() => TorchRuntime.Initialize(new RuntimeSettings(Threads: -1)));
    }
}
