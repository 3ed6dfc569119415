using Lethe.Runtime;
using static TorchSharp.torch;

namespace Lethe.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocatorFillCollection
{
    // The fill is one flag for the whole process: these tests change it, so nothing else may run beside them (the suite
    // runs its collections one at a time today; this keeps it so for these if that changes).
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
            // The control: without the fill, blocks freed full of NaN come back as they were left.
            CpuAllocatorFill.Set(AllocationFill.None);
            var dirty = 0;
            for (var round = 0; round < 5; round++)
            {
                FreeBlocksHoldingNaN();
                for (long n = 256; n < 1 << 20; n = n * 5 / 4 + 16)
                {
                    using var fresh = empty(n);
                    if (!(fresh.abs().max().item<float>() == 0f)) dirty++;
                }
            }
            Assert.True(dirty > 0, "no freed block came back unzeroed without the fill, so the test shows nothing");
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
    public void InitializeZeroFillsWhereAKernelHereReadsUnwrittenMemoryAndOnlyThen()
    {
        TorchRuntime.Initialize(new RuntimeSettings(Threads: 2));
        var found = UnwrittenMemoryCheck.Find(UnwrittenMemoryCheck.LetheKernels());
        var fill = CpuAllocatorFill.Current();
        // The fill answers every thread count checked in the process (here also 1): a kernel found at 2 means zeros.
        if (found.Count > 0) Assert.Equal(AllocationFill.Zero, fill);
        Assert.StartsWith(fill == AllocationFill.Zero ? "zeros" : "none", TorchRuntime.AllocationFillReason, StringComparison.Ordinal);
        foreach (var name in found) Assert.Contains(name, TorchRuntime.AllocationFillReason, StringComparison.Ordinal);
    }

    [Fact]
    public void AKernelThatReadsUnwrittenMemoryAtAnyCheckedThreadCountTurnsTheFillOn()
    {
        var threads = get_num_threads();
        var seen = new List<int>();
        var results = new Dictionary<int, IReadOnlyList<string>>();
        try
        {
            // Reads unwritten memory at 3 threads only, as a kernel that oneDNN picks by thread count might.
            TorchRuntime.ApplyAllocationFill([1, 3], () => [new("reads at 3 threads", () =>
            {
                seen.Add(get_num_threads());
                return [get_num_threads() == 3 ? empty(64) * 0 + 1 : zeros(64) + 1];
            })], results);
            Assert.Equal([1, 3], seen);
            Assert.Equal(threads, get_num_threads()); // put back
            Assert.Equal(AllocationFill.Zero, CpuAllocatorFill.Current());
            Assert.Contains("reads at 3 threads", TorchRuntime.AllocationFillReason, StringComparison.Ordinal);
            // A later call at one thread count alone does not undo the fill another count needs, nor checks again.
            TorchRuntime.ApplyAllocationFill([1], () => throw new InvalidOperationException("not checked again"), results);
            Assert.Equal(AllocationFill.Zero, CpuAllocatorFill.Current());
            Assert.Equal([1, 3], seen);
        }
        finally
        {
            TorchRuntime.ApplyAllocationFill(); // the process's own answer again
        }
    }

    [Fact]
    public void ACheckThatCannotRunZeroFillsAndSaysWhy()
    {
        try
        {
            TorchRuntime.ApplyAllocationFill([1], () => [new("throws", () => throw new InvalidOperationException("no such kernel"))], []);
            Assert.Equal(AllocationFill.Zero, CpuAllocatorFill.Current());
            Assert.Contains("the check itself failed at 1 thread: no such kernel", TorchRuntime.AllocationFillReason, StringComparison.Ordinal);
        }
        finally
        {
            TorchRuntime.ApplyAllocationFill();
        }
    }

    [Fact]
    public void TheEnvironmentSwitchForcesTheFillAndRefusesOtherValues()
    {
        try
        {
            Environment.SetEnvironmentVariable("LETHE_ZERO_FILL", "1");
            TorchRuntime.ApplyAllocationFill();
            Assert.Equal(AllocationFill.Zero, CpuAllocatorFill.Current());
            Environment.SetEnvironmentVariable("LETHE_ZERO_FILL", "0");
            TorchRuntime.ApplyAllocationFill();
            Assert.Equal(AllocationFill.None, CpuAllocatorFill.Current());
            Environment.SetEnvironmentVariable("LETHE_ZERO_FILL", "yes");
            Assert.Contains("must be 0, 1 or malloc", Assert.Throws<LetheException>(() => TorchRuntime.ApplyAllocationFill()).Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("LETHE_ZERO_FILL", null);
            TorchRuntime.ApplyAllocationFill();
        }
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
