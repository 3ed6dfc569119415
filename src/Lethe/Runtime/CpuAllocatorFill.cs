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
        if (!TryFlags(out var zero, out var junk)) return false;
        // Both set at once would abort the process (c10 checks it on each allocation), so clear before setting.
        Marshal.WriteByte(zero, 0);
        Marshal.WriteByte(junk, 0);
        if (fill == AllocationFill.Zero) Marshal.WriteByte(zero, 1);
        if (fill == AllocationFill.Junk) Marshal.WriteByte(junk, 1);
        return true;
    }

    /// <summary>The fill in force, or null when the flags are not found.</summary>
    public static AllocationFill? Current()
    {
        if (!TryFlags(out var zero, out var junk)) return null;
        return Marshal.ReadByte(zero) != 0 ? AllocationFill.Zero : Marshal.ReadByte(junk) != 0 ? AllocationFill.Junk : AllocationFill.None;
    }

    static bool TryFlags(out IntPtr zero, out IntPtr junk)
    {
        zero = junk = IntPtr.Zero;
        TorchRuntime.EnsureLoaded();
        var name = OperatingSystem.IsWindows() ? "c10.dll" : OperatingSystem.IsMacOS() ? "libc10.dylib" : "libc10.so";
        if (!NativeLibrary.TryLoad(Path.Combine(AppContext.BaseDirectory, name), out var library) &&
            !NativeLibrary.TryLoad(name, typeof(torch).Assembly, null, out library)) return false;
        return NativeLibrary.TryGetExport(library, ZeroFlag, out zero) && NativeLibrary.TryGetExport(library, JunkFlag, out junk);
    }
}
