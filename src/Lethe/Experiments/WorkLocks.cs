using Lethe.Storage;

namespace Lethe.Experiments;

/// <summary>
/// How this process takes the locks on the work it shares with other processes in one folder (experiment cells and
/// the training runs they need; <see cref="WorkLock"/>): waiting for a busy piece of work, or, with
/// <see cref="DeferBusy"/>, throwing <see cref="WorkBusyException"/> so that a shard can do something else first.
/// </summary>
public sealed class WorkLocks(Action<string>? onNote = null, CancellationToken cancel = default)
{
    public bool DeferBusy { get; set; }

    /// <summary>The lock on <paramref name="work"/>, kept in <paramref name="path"/>; says when it waits or takes over a stale lock.</summary>
    public WorkLock Take(string path, string work)
    {
        WorkLock taken;
        try
        {
            taken = WorkLock.Take(path, work, DeferBusy, holder => onNote?.Invoke($"waiting for {work}: another process works on it{(holder is null ? "" : $" ({holder})")}"), cancel);
        }
        catch (OperationCanceledException)
        {
            throw new ExperimentStoppedException($"stopped while waiting for {work}; run the command again to continue");
        }
        if (taken.Stale is { } stale) onNote?.Invoke($"took over {work} from {stale}, which ended without finishing it");
        return taken;
    }
}
