using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Lethe.Storage;

/// <summary>Who holds (or held) a work lock: written into the lock file so that a waiting process can say whom it waits for.</summary>
public sealed record LockHolder(string Host, int Pid, DateTime Since, string Work)
{
    public override string ToString() => $"pid {Pid} on {Host}, since {Since:yyyy-MM-dd HH:mm:ss} UTC";

    public static LockHolder Me(string work) => new(Environment.MachineName, Environment.ProcessId, DateTime.UtcNow, work);
}

/// <summary>Another process holds the lock on a piece of work.</summary>
public sealed class WorkBusyException(string work, LockHolder? holder)
    : LetheException($"{work} is being worked on by another process{(holder is null ? "" : $" ({holder})")}")
{
    public string Work { get; } = work;

    public LockHolder? Holder { get; } = holder;
}

/// <summary>
/// An exclusive lock on one piece of work in a folder that several processes share (an experiment cell, a training
/// run): an explicit flock on a lock file beside it, which the kernel drops when the process ends, even by kill -9.
/// The holder writes its host, pid and start into the file and empties it on a clean release, so a non-empty file
/// found by the next holder is the trace of a process that died while working: a stale lock, reported and taken over.
/// Lock files are never deleted (deleting one while another process waits on it would let two hold it). flock works
/// on local file systems and, through the lock manager, on NFS; a shared file system without locking gets no protection.
/// </summary>
public sealed class WorkLock : IDisposable
{
    readonly SafeFileHandle file;

    WorkLock(SafeFileHandle file, LockHolder? stale)
    {
        this.file = file;
        Stale = stale;
    }

    /// <summary>The holder that died while holding this lock, when this process took it over.</summary>
    public LockHolder? Stale { get; }

    /// <summary>Takes the lock without waiting; null (and the holder, when it could be read) when another process holds it.</summary>
    public static WorkLock? TryTake(string path, string work, out LockHolder? holder)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("work locks need flock (Linux, macOS)");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var file = Posix.OpenLockFile(path);
        try
        {
            if (!Posix.TryLock(file))
            {
                holder = ReadHolder(file);
                file.Dispose();
                return null;
            }
            var stale = ReadHolder(file);
            Posix.Truncate(file, 0);
            RandomAccess.Write(file, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(LockHolder.Me(work), LetheJson.Compact)), 0);
            RandomAccess.FlushToDisk(file);
            holder = null;
            return new WorkLock(file, stale);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes the lock, waiting for another process to release it (polling; <paramref name="onWait"/> hears once whom it
    /// waits for). <paramref name="deferBusy"/> throws <see cref="WorkBusyException"/> instead of waiting.
    /// </summary>
    public static WorkLock Take(string path, string work, bool deferBusy = false, Action<LockHolder?>? onWait = null, CancellationToken cancel = default)
    {
        var told = false;
        while (true)
        {
            if (TryTake(path, work, out var holder) is { } taken) return taken;
            if (deferBusy) throw new WorkBusyException(work, holder);
            if (!told) onWait?.Invoke(holder);
            told = true;
            if (cancel.WaitHandle.WaitOne(TimeSpan.FromSeconds(1))) throw new OperationCanceledException(cancel);
        }
    }

    static readonly LockHolder Unknown = new("an unknown host", 0, default, "unknown work");

    static LockHolder? ReadHolder(SafeFileHandle file)
    {
        var bytes = new byte[4096];
        var length = RandomAccess.Read(file, bytes, 0);
        if (length == 0) return null;
        try
        {
            return JsonSerializer.Deserialize<LockHolder>(bytes.AsSpan(0, length), LetheJson.Compact);
        }
        catch (JsonException)
        {
            return Unknown; // half written by a holder that died while writing it: still a trace, but nameless
        }
    }

    /// <summary>Empties the file (a clean release leaves no trace), then lets the kernel drop the lock.</summary>
    public void Dispose()
    {
        try
        {
            Posix.Truncate(file, 0);
        }
        catch (IOException)
        {
            // the lock goes with the file handle all the same
        }
        file.Dispose();
    }
}
