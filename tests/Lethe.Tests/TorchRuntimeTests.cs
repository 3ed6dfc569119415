using Lethe.Runtime;
using TorchSharp;
using static TorchSharp.torch;

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
    public void UnknownOrUnavailableDeviceIsAClearError()
    {
        Assert.Equal(DeviceType.CPU, TorchRuntime.ParseDevice("CPU").type);
        Assert.Contains("unknown device", Assert.Throws<LetheException>(() => TorchRuntime.ParseDevice("tpu")).Message);
        if (!torch.cuda.is_available())
            Assert.Contains("no CUDA device", Assert.Throws<LetheException>(() => TorchRuntime.ParseDevice("cuda")).Message);
        Assert.Throws<LetheException>(() => TorchRuntime.Initialize(new RuntimeSettings(Threads: -1)));
    }
}
