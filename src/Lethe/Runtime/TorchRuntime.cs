using System.Globalization;
using TorchSharp;

namespace Lethe.Runtime;

/// <summary>Where tensors live and how many threads libtorch may use. Threads 0 means all cores.</summary>
public sealed record RuntimeSettings(string Device = "cpu", int Threads = 0);

/// <summary>Loads libtorch once and applies <see cref="RuntimeSettings"/>.</summary>
public static class TorchRuntime
{
    static readonly Lock Gate = new();
    static bool loaded;

    /// <summary>Loads the native library, or fails with an error that says why (not TorchSharp's generic one).</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (loaded) return;
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException)
            {
                var native = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
                throw new LetheException(
                    "TorchSharp's native library could not be loaded" +
                    (File.Exists(native) ? $"; run `ldd {native}` to see which dependency is missing" : "") +
                    " (on Debian 12 it is the GLIBCXX_3.4.32 requirement that Lethe's build relaxes: build with `dotnet build`, " +
                    "not by copying files; see docs/torchsharp-on-debian.md)", e);
            }
            loaded = true;
        }
    }

    /// <summary>Applies the settings and returns the device to put tensors on.</summary>
    public static torch.Device Initialize(RuntimeSettings settings)
    {
        EnsureLoaded();
        if (settings.Threads < 0) throw new LetheException($"threads must be 0 (all cores) or positive, not {settings.Threads}");
        var threads = settings.Threads == 0 ? Environment.ProcessorCount : settings.Threads;
        torch.set_num_threads(threads);
        ApplyAllocationFill();
        // LETHE_ALLOCATOR=default leaves glibc's thresholds as they are (for the bench's comparison).
        if (Environment.GetEnvironmentVariable("LETHE_ALLOCATOR") != "default") Storage.Posix.TuneAllocator();
        return ParseDevice(settings.Device);
    }

    static readonly Dictionary<int, IReadOnlyList<string>> UnwrittenReads = [];

    /// <summary>What the CPU allocator writes into new blocks, and why (shown by `lethe doctor`).</summary>
    public static string AllocationFillReason { get; private set; } = "not set";

    /// <summary>
    /// Zero-fills libtorch's new CPU blocks where some kernel here reads memory it never wrote, and only there. Such a
    /// kernel reads a freed tensor's bytes from a reused block, which may be NaN, and which block is reused depends on
    /// when the GC frees tensors: seeded runs then turned NaN at random (docs/seeds.md). The fill costs 15-50% of a
    /// step (docs/allocation-fill.md), so it is not paid where <see cref="UnwrittenMemoryCheck"/> finds no such kernel
    /// at any thread count checked in this process: <paramref name="threadCounts"/> (default: the threads in force),
    /// each checked once. LETHE_ZERO_FILL=1 forces the fill, 0 turns it off, malloc zero-fills every malloc block
    /// instead (the older, slower way). The check sets a fill for the whole process, so it must run before other
    /// threads use libtorch: commands run it at start-up, the tests in their module initializer.
    /// </summary>
    public static void ApplyAllocationFill(IEnumerable<int>? threadCounts = null) =>
        ApplyAllocationFill(threadCounts, UnwrittenMemoryCheck.LetheKernels, UnwrittenReads);

    /// <summary>The same with the kernels to check and the results per thread count to keep (for the tests).</summary>
    internal static void ApplyAllocationFill(IEnumerable<int>? threadCounts, Func<IEnumerable<CheckedKernel>> kernels, Dictionary<int, IReadOnlyList<string>> checkedCounts)
    {
        EnsureLoaded();
        lock (Gate)
        {
            var forced = Environment.GetEnvironmentVariable("LETHE_ZERO_FILL");
            if (!string.IsNullOrEmpty(forced))
            {
                AllocationFillReason = forced switch
                {
                    "0" => CpuAllocatorFill.Set(AllocationFill.None) ? "none (LETHE_ZERO_FILL=0)" : "none (LETHE_ZERO_FILL=0; libc10's flags were not found)",
                    "1" => CpuAllocatorFill.Set(AllocationFill.Zero) ? "zeros (LETHE_ZERO_FILL=1)" : ZeroEveryMallocBlock("LETHE_ZERO_FILL=1, and libc10's flags were not found"),
                    "malloc" => ZeroEveryMallocBlock("LETHE_ZERO_FILL=malloc"),
                    _ => throw new LetheException($"LETHE_ZERO_FILL must be 0, 1 or malloc, not '{forced}' (docs/allocation-fill.md)"),
                };
                return;
            }
            if (CpuAllocatorFill.Current() is null)
            {
                AllocationFillReason = ZeroEveryMallocBlock("libc10's allocator flags were not found, so no kernel was checked");
                return;
            }
            var threads = torch.get_num_threads();
            foreach (var count in (threadCounts ?? [threads]).Distinct())
            {
                if (checkedCounts.ContainsKey(count)) continue;
                torch.set_num_threads(count);
                try
                {
                    checkedCounts[count] = UnwrittenMemoryCheck.Find(kernels());
                }
                catch (Exception e)
                {
                    // A check that cannot run says nothing: zero-fill, the safe choice, rather than fail every command.
                    checkedCounts[count] = [$"the check itself failed at {Threads([count])}: {e.Message}"];
                }
                finally
                {
                    torch.set_num_threads(threads);
                }
            }
            // Every count checked so far counts: a later call at one thread count must not undo a fill another needs.
            var found = new SortedSet<string>(checkedCounts.Values.SelectMany(names => names), StringComparer.Ordinal);
            CpuAllocatorFill.Set(found.Count > 0 ? AllocationFill.Zero : AllocationFill.None);
            AllocationFillReason = found.Count > 0
                ? $"zeros (these kernels read memory they never wrote here: {string.Join("; ", found)})"
                : $"none (no checked kernel reads memory it never wrote here, at {Threads(checkedCounts.Keys)})";
        }
    }

    static string Threads(IEnumerable<int> counts) =>
        string.Join(" or ", counts.Order()) + (counts.SequenceEqual([1]) ? " thread" : " threads");

    static string ZeroEveryMallocBlock(string why) =>
        Storage.Posix.ZeroFillAllocations() ? $"zeros, in every malloc block ({why})" : $"none: there is no way to zero-fill here ({why})";

    public static torch.Device ParseDevice(string name)
    {
        var text = name.Trim().ToLowerInvariant();
        if (text == "cpu") return torch.CPU;
        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int? index = null;
            if (text != "cuda")
            {
                if (!int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                    throw new LetheException($"unknown device '{name}': use cpu, cuda or cuda:N");
                index = n;
            }
            if (!torch.cuda.is_available())
                throw new LetheException(
                    $"device '{name}' was asked for, but no CUDA device is usable: this build carries the CPU libtorch, or no GPU and driver " +
                    "are visible (build with -p:LetheLibTorch=cuda and run on a machine with a GPU; docs/gpu.md)");
            // libtorch would fail only at the first tensor put there, with a message that does not name the option.
            var count = torch.cuda.device_count();
            if (index >= count)
                throw new LetheException($"device '{name}' was asked for, but CUDA sees {count} device{(count == 1 ? "" : "s")} (cuda:0 to cuda:{count - 1})");
            return index is { } i ? torch.device(DeviceType.CUDA, i) : torch.device(DeviceType.CUDA);
        }
        throw new LetheException($"unknown device '{name}': use cpu, cuda or cuda:N");
    }
}
