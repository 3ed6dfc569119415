using Lethe.Runtime;
using static TorchSharp.torch;

namespace Lethe.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocatorFillCollection
{
    // The fill is one flag for the whole process: these tests change it, so nothing else runs beside them.
    public const string Name = "allocator fill";
}

[Collection(AllocatorFillCollection.Name)]
public class AllocatorFillTests
{
    // Leaves blocks of these sizes, full of NaN, free in the heap for the next allocation to reuse.
    static void FreeBlocksHoldingNaN()
    {
        var junk = new List<Tensor>();
        for (long n = 256; n < 1 << 20; n = n * 5 / 4 + 16) junk.Add(full(n, float.NaN));
        foreach (var t in junk) t.Dispose();
    }

    [Fact]
    public void ZeroFillHandsOutZerosWhereNaNWasFreed()
    {
        var before = CpuAllocatorFill.Current();
        Assert.NotNull(before);
        try
        {
            Assert.True(CpuAllocatorFill.Set(AllocationFill.Zero));
            Assert.Equal(AllocationFill.Zero, CpuAllocatorFill.Current());
            for (var round = 0; round < 5; round++)
            {
                FreeBlocksHoldingNaN();
                for (long n = 256; n < 1 << 20; n = n * 5 / 4 + 16)
                {
                    using var fresh = empty(n);
                    Assert.Equal(0f, fresh.abs().max().item<float>());
                }
            }
        }
        finally
        {
            CpuAllocatorFill.Set(before!.Value);
        }
    }

    [Fact]
    public void JunkFillReadsAsNaNAndTheCheckFindsOnlyTheKernelThatReadsIt()
    {
        var before = CpuAllocatorFill.Current()!.Value;
        try
        {
            CpuAllocatorFill.Set(AllocationFill.Junk);
            using (var fresh = empty(1000)) Assert.True(isnan(fresh).all().item<bool>());
            CpuAllocatorFill.Set(before);
            var found = UnwrittenMemoryCheck.Find([
                new("reads a block it never wrote", () => [empty(64) * 0 + 1]),
                new("writes before it reads", () => [zeros(64) + 1, ones(8, 8).matmul(ones(8, 8))]),
                new("adds into a block it never cleared", () => [empty(16).add_(ones(16))]),
            ]);
            Assert.Equal(["reads a block it never wrote", "adds into a block it never cleared"], found);
            Assert.Equal(before, CpuAllocatorFill.Current()); // the check puts the fill back
        }
        finally
        {
            CpuAllocatorFill.Set(before);
        }
    }

    [Fact]
    public void InitializeFillsZerosExactlyWhereAKernelHereReadsUnwrittenMemory()
    {
        TorchRuntime.Initialize(new RuntimeSettings(Threads: 2));
        var found = UnwrittenMemoryCheck.Find(UnwrittenMemoryCheck.LetheKernels());
        Assert.Equal(found.Count > 0 ? AllocationFill.Zero : AllocationFill.None, CpuAllocatorFill.Current());
        Assert.StartsWith(found.Count > 0 ? "zeros" : "none", TorchRuntime.AllocationFillReason, StringComparison.Ordinal);
        foreach (var name in found) Assert.Contains(name, TorchRuntime.AllocationFillReason, StringComparison.Ordinal);
    }

    [Fact]
    public void LetheKernelsLeaveTheGlobalGeneratorAlone()
    {
        manual_seed(7);
        var expected = rand(4).data<float>().ToArray();
        manual_seed(7);
        UnwrittenMemoryCheck.Find(UnwrittenMemoryCheck.LetheKernels().Take(1));
        Assert.Equal(expected, rand(4).data<float>().ToArray());
    }
}
