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

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    /// <summary>
    /// Takes an exclusive flock on an open file without waiting; false when another open file holds it. The kernel drops
    /// it when the file is closed or the process dies, even by kill -9. (Not on Windows, where FileShare.None is the lock.)
    /// </summary>
    public static bool TryLock(SafeFileHandle file)
    {
        if (OperatingSystem.IsWindows()) return true;
        return flock((int)file.DangerousGetHandle(), LockExclusive | LockNonBlocking) == 0;
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
