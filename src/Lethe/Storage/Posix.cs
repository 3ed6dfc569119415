using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Lethe.Storage;

/// <summary>The few POSIX calls .NET does not expose: an explicit flock, and fsync of a folder after a rename.</summary>
public static partial class Posix
{
    const int LockExclusive = 2;
    const int LockNonBlocking = 4;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(int fd, int operation);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int openWithMode(string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ftruncate(int fd, long length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mallopt(int parameter, int value);

    const int TrimThreshold = -1;
    const int MmapThreshold = -3;
    const int Perturb = -6;

    /// <summary>
    /// Keeps glibc's malloc from returning large blocks to the kernel between steps: blocks up to 32 MB come from the heap
    /// rather than fresh mmaps, and the heap is trimmed only above 2 GB free. libtorch's activations are tens of MB each;
    /// each fresh mmap costs a page fault per 4 KB page (docs/performance.md). Returns whether glibc took both settings.
    /// </summary>
    public static bool TuneAllocator()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return mallopt(MmapThreshold, 32 << 20) == 1 & mallopt(TrimThreshold, int.MaxValue) == 1;
        }
        catch (EntryPointNotFoundException)
        {
            return false; // not glibc
        }
    }

    /// <summary>
    /// Has glibc's malloc hand out every block it takes from its heap filled with zeros (M_PERTURB 0xFF: a block is
    /// set to 0xFF ^ 0xFF on allocation, to 0xFF on free). The fallback for a libtorch build whose allocator flags
    /// Lethe cannot find (<see cref="Runtime.TorchRuntime.ApplyAllocationFill"/> says why blocks are zeroed): it is
    /// slower, for it writes every block twice, libtorch's or not. Returns whether glibc took the setting.
    /// </summary>
    public static bool ZeroFillAllocations()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return mallopt(Perturb, 0xFF) == 1;
        }
        catch (EntryPointNotFoundException)
        {
            return false; // not glibc
        }
    }

    /// <summary>
    /// Takes an exclusive flock on an open file without waiting; false when another open file holds it. The kernel drops
    /// it when the file is closed or the process dies, even by kill -9. (Not on Windows, where FileShare.None is the lock.)
    /// </summary>
    public static bool TryLock(SafeFileHandle file)
    {
        if (OperatingSystem.IsWindows()) return true;
        return flock((int)file.DangerousGetHandle(), LockExclusive | LockNonBlocking) == 0;
    }

    /// <summary>
    /// Opens (creating it, mode 0644) a lock file for reading and writing without .NET's own advisory lock, which
    /// would refuse a second open of a file another process holds with <see cref="TryLock"/> before it could be read.
    /// </summary>
    public static SafeFileHandle OpenLockFile(string path)
    {
        const int readWrite = 2, create = 0x40, closeOnExec = 0x80000;
        var fd = openWithMode(path, readWrite | create | closeOnExec, Convert.ToInt32("644", 8));
        if (fd < 0) throw new IOException($"{path}: cannot open the lock file (errno {Marshal.GetLastPInvokeError()})");
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Cuts an open file to <paramref name="length"/> bytes.</summary>
    public static void Truncate(SafeFileHandle file, long length)
    {
        if (ftruncate((int)file.DangerousGetHandle(), length) != 0) throw new IOException($"cannot truncate a lock file (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Flushes a folder's entries (the renames into it) to disk, so that a power cut cannot undo them.</summary>
    public static void SyncFolder(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        var fd = open(folder, 0);
        if (fd < 0) return;
        fsync(fd);
        close(fd);
    }
}
