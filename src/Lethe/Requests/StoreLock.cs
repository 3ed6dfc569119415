using Lethe.Storage;

namespace Lethe.Requests;

/// <summary>
/// The store's lock file (.lock), held for as long as a command works on the store: an explicit exclusive flock (not
/// .NET's FileShare, which DOTNET_SYSTEM_IO_DISABLEFILELOCKING turns off). The kernel drops it when the process ends,
/// even by kill -9, so a crashed run never leaves the store locked. flock is reliable on local file systems only.
/// </summary>
public sealed class StoreLock : IDisposable
{
    public const string FileName = ".lock";

    readonly FileStream stream;

    StoreLock(FileStream stream) => this.stream = stream;

    /// <summary>Takes the lock, waiting up to <paramref name="wait"/> for another process to release it.</summary>
    public static StoreLock Take(string store, TimeSpan wait)
    {
        var path = Path.Combine(store, FileName);
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            FileStream? stream = null;
            try
            {
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, OperatingSystem.IsWindows() ? FileShare.None : FileShare.ReadWrite);
                if (Posix.TryLock(stream.SafeFileHandle)) return new StoreLock(stream);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Windows: another process holds the file open without sharing.
            }
            stream?.Dispose();
            if (DateTime.UtcNow >= deadline)
                throw new LetheException($"store is busy: another lethe process works on {store}{(wait > TimeSpan.Zero ? $" (waited {wait.TotalSeconds:0.#} s)" : "; pass --wait SECONDS to wait for it")}");
            Thread.Sleep(200);
        }
    }

    public void Dispose() => stream.Dispose();
}
