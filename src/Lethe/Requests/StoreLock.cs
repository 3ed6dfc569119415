namespace Lethe.Requests;

/// <summary>
/// The store's lock file (.lock), held open without sharing for as long as a command works on the store. On Linux .NET
/// takes it with flock, which the kernel drops when the process ends, even by kill -9: a crashed run never leaves the
/// store locked.
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
            try
            {
                return new StoreLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (File.Exists(path))
            {
                if (DateTime.UtcNow >= deadline)
                    throw new LetheException($"store is busy: another lethe process works on {store}{(wait > TimeSpan.Zero ? $" (waited {wait.TotalSeconds:0} s)" : "; pass --wait SECONDS to wait for it")}");
                Thread.Sleep(200);
            }
        }
    }

    public void Dispose() => stream.Dispose();
}
