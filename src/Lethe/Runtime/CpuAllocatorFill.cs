using System.Runtime.InteropServices;
using TorchSharp;

namespace Lethe.Runtime;

/// <summary>What libtorch's CPU allocator writes into each block it hands out for a tensor.</summary>
public enum AllocationFill
{
    /// <summary>Nothing: a block reused from the heap holds whatever a freed tensor left there.</summary>
    None,
    /// <summary>Zeros, as fresh pages from the kernel hold.</summary>
    Zero,
    /// <summary>A pattern that reads as NaN in floating point: finds kernels that read memory they never wrote.</summary>
    Junk,
}

/// <summary>
/// Sets c10's <c>caffe2_cpu_allocator_do_zero_fill</c> and <c>caffe2_cpu_allocator_do_junk_fill</c> flags, which
/// libtorch's CPU allocator reads on every allocation. They are plain exported globals of libc10.so, with no API in
/// TorchSharp, so they are written in place.
/// </summary>
public static class CpuAllocatorFill
{
    const string ZeroFlag = "FLAGS_caffe2_cpu_allocator_do_zero_fill";
    const string JunkFlag = "FLAGS_caffe2_cpu_allocator_do_junk_fill";

    /// <summary>Sets the fill; false when libc10 or its flags are not found (another libtorch build).</summary>
    public static bool Set(AllocationFill fill)
    {
        if (Flags() is not var (zero, junk)) return false;
        // Both set at once would abort the process (c10 checks it on each allocation), so clear before setting.
        Marshal.WriteByte(zero, 0);
        Marshal.WriteByte(junk, 0);
        Interlocked.MemoryBarrier();
        if (fill == AllocationFill.Zero) Marshal.WriteByte(zero, 1);
        if (fill == AllocationFill.Junk) Marshal.WriteByte(junk, 1);
        return true;
    }

    /// <summary>The fill in force, or null when the flags are not found.</summary>
    public static AllocationFill? Current()
    {
        if (Flags() is not var (zero, junk)) return null;
        return Marshal.ReadByte(zero) != 0 ? AllocationFill.Zero : Marshal.ReadByte(junk) != 0 ? AllocationFill.Junk : AllocationFill.None;
    }

    static (IntPtr Zero, IntPtr Junk)? flags;
    static bool looked;

    static (IntPtr Zero, IntPtr Junk)? Flags()
    {
        if (looked) return flags;
        TorchRuntime.EnsureLoaded();
        // The copy libtorch already loaded, by its name first: a second copy's flags would be read by no allocator.
        // (Found on Linux and macOS; on Windows the compiler decorates the names of C++ globals, so they are not.)
        var name = OperatingSystem.IsWindows() ? "c10.dll" : OperatingSystem.IsMacOS() ? "libc10.dylib" : "libc10.so";
        if ((NativeLibrary.TryLoad(name, out var library) || NativeLibrary.TryLoad(Path.Combine(AppContext.BaseDirectory, name), out library)) &&
            NativeLibrary.TryGetExport(library, ZeroFlag, out var zero) && NativeLibrary.TryGetExport(library, JunkFlag, out var junk))
            flags = (zero, junk);
        looked = true;
        return flags;
    }
}
