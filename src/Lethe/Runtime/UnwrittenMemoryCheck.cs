using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Lethe.Runtime;

/// <summary>A computation the check runs: its name, and a function that returns every tensor it produced.</summary>
public sealed record CheckedKernel(string Name, Func<Tensor[]> Run);

/// <summary>
/// Finds libtorch kernels that read memory they never wrote, on this machine and at this thread count. It runs them
/// while the CPU allocator fills every new block with a pattern that reads as NaN (<see cref="AllocationFill.Junk"/>):
/// a finite kernel whose result comes out non-finite read such a block. Which kernel oneDNN picks depends on the
/// processor, the shapes and the threads, so one machine's answer says nothing of another's (docs/seeds.md).
/// </summary>
public static class UnwrittenMemoryCheck
{
    /// <summary>The names of the kernels whose results held NaN or infinity under the junk fill. Restores the fill.</summary>
    public static IReadOnlyList<string> Find(IEnumerable<CheckedKernel> kernels)
    {
        var before = CpuAllocatorFill.Current() ?? throw new LetheException("libc10's allocator flags were not found, so the check cannot run");
        var found = new List<string>();
        try
        {
            CpuAllocatorFill.Set(AllocationFill.Junk);
            foreach (var kernel in kernels)
            {
                using var scope = NewDisposeScope();
                if (kernel.Run().Any(t => !isfinite(t).all().item<bool>())) found.Add(kernel.Name);
            }
        }
        finally
        {
            CpuAllocatorFill.Set(before);
        }
        return found;
    }

    /// <summary>
    /// What Lethe's models compute in training, in the gradient penalty and in inference, at their shapes (smaller
    /// batches): convolutions with 1 and 3 input channels (where oneDNN picks special kernels), inner and strided
    /// ones, batch norm, pooling, the projection head and the losses, each with first and second derivatives.
    /// </summary>
    public static IEnumerable<CheckedKernel> LetheKernels()
    {
        yield return new CheckedKernel("conv2d 1->8 3x3 on 12x12, input gradient alone, batch 8 (the case that turned NaN)", RegressionCase);
        yield return Convolution("conv2d 1->8 3x3 on 12x12 (tiny test images)", 16, 1, 8, 3, 1, 1, 12);
        yield return Convolution("conv2d 1->32 3x3 on 28x28 (small CNN's first layer)", 16, 1, 32, 3, 1, 1, 28);
        yield return Convolution("conv2d 1->32 3x3 on 28x28, batch 64 (small CNN's first layer, training batch)", 64, 1, 32, 3, 1, 1, 28);
        yield return Convolution("conv2d 3->32 3x3 on 32x32 (small CNN, colour)", 16, 3, 32, 3, 1, 1, 32);
        yield return Convolution("conv2d 1->64 3x3 on 28x28 (ResNet-18 on 1-channel images)", 16, 1, 64, 3, 1, 1, 28);
        yield return Convolution("conv2d 3->64 3x3 on 32x32 (ResNet-18 CIFAR stem)", 16, 3, 64, 3, 1, 1, 32);
        yield return Convolution("conv2d 3->64 3x3 padding 2 on 32x32 (ResNet-18 cifar-pad2 stem)", 16, 3, 64, 3, 1, 2, 32);
        yield return Convolution("conv2d 3->64 7x7 stride 2 on 32x32 (ResNet-18 ImageNet stem)", 16, 3, 64, 7, 2, 3, 32);
        yield return Convolution("conv2d 32->64 3x3 on 14x14 (inner layer)", 16, 32, 64, 3, 1, 1, 14);
        yield return Convolution("conv2d 64->128 3x3 stride 2 on 16x16 (ResNet downsampling)", 16, 64, 128, 3, 2, 1, 16);
        yield return Convolution("conv2d 64->128 1x1 stride 2 on 16x16 (ResNet shortcut)", 16, 64, 128, 1, 2, 0, 16);
        yield return new CheckedKernel("max pool 3x3 stride 2 and adaptive average pool (ResNet-18 ImageNet stem and head)", Pooling);
        yield return new CheckedKernel("linear, batch norm 1d, softmax cross-entropy (heads and losses)", Head);
    }

    static Tensor Uniform(params long[] shape) => rand(shape, generator: Draws);

    // The check's own draws: it may run inside a seeded run and must not move the global generator.
    static Generator Draws => draws ??= new Generator(0);
    static Generator? draws;

    // Training: batch norm on the batch's statistics; then the gradient penalty's path (the input gradient with its
    // graph, a second backward into the weights); then inference with batch norm on running statistics.
    static CheckedKernel Convolution(string name, int batch, int input, int output, int kernel, int stride, int padding, int size) => new(name, () =>
    {
        var x = Uniform(batch, input, size, size).requires_grad_();
        var w = (Uniform(output, input, kernel, kernel) - 0.5).requires_grad_();
        var bias = Uniform(output);
        var y = F.max_pool2d(F.relu(F.batch_norm(F.conv2d(x, w, strides: [stride, stride], padding: [padding, padding]),
            null, null, ones(output), zeros(output), training: true)), 2);
        var gx = torch.autograd.grad([y.pow(2).sum()], [x], retain_graph: true, create_graph: true)[0];
        gx.pow(2).sum().backward();
        Tensor inference;
        using (no_grad())
        {
            inference = F.relu(F.batch_norm(F.conv2d(x, w, bias, strides: [stride, stride], padding: [padding, padding]),
                Uniform(output), Uniform(output) + 0.5, ones(output), zeros(output), training: false));
        }
        return [y, gx, w.grad!, x.grad!, inference];
    });

    // TorchRuntimeTests' regression case as it stands: conv2d's input gradient, nothing else, at whatever threads.
    static Tensor[] RegressionCase()
    {
        var x = Uniform(8, 1, 12, 12).requires_grad_();
        var y = F.conv2d(x, Uniform(8, 1, 3, 3), padding: [1, 1]);
        return [torch.autograd.grad([y.sum()], [x])[0]];
    }

    static Tensor[] Pooling()
    {
        var x = Uniform(16, 64, 16, 16).requires_grad_();
        var y = F.adaptive_avg_pool2d(F.max_pool2d(x, 3, 2, 1), [1, 1]);
        var gx = torch.autograd.grad([y.pow(2).sum()], [x], retain_graph: true, create_graph: true)[0];
        var second = torch.autograd.grad([gx.pow(2).sum()], [x])[0];
        return [y, gx, second];
    }

    static Tensor[] Head()
    {
        var x = Uniform(32, 256).requires_grad_();
        var w1 = (Uniform(128, 256) - 0.5).requires_grad_();
        var w2 = (Uniform(10, 128) - 0.5).requires_grad_();
        var hidden = F.relu(F.batch_norm(F.linear(x, w1), null, null, ones(128), zeros(128), training: true));
        var logits = F.linear(hidden, w2);
        var z = F.normalize(logits, dim: 1);
        var loss = F.cross_entropy(logits, arange(32) % 10) + F.cross_entropy(z.matmul(z.T) / 0.5, arange(32));
        var gx = torch.autograd.grad([loss], [x], retain_graph: true, create_graph: true)[0];
        (loss + gx.pow(2).sum()).backward();
        return [loss, gx, x.grad!, w1.grad!, w2.grad!];
    }
}
