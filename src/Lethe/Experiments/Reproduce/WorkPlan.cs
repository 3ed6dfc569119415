using Lethe.Storage;

namespace Lethe.Experiments;

/// <summary>
/// One piece of work a shard can take: an experiment cell, SISA's pair of cells, or one LiRA reference model with all
/// its treatments. <see cref="Group"/> names the training runs it shares with others (seed, data set, model), so that
/// a shard gets whole groups where it can.
/// </summary>
public sealed record WorkUnit(string Path, string Group, Func<bool> Done, Action Measure);

/// <summary>
/// The work a reproduce run's tables need, in the order they ask for it, listed by building every table from
/// placeholders (<see cref="Measurement.Placeholder"/>) without measuring anything. The list depends on the settings
/// only, not on what is cached, so every shard of a job array computes the same list and the same parts of it.
/// </summary>
public sealed class WorkPlan
{
    readonly List<WorkUnit> units = [];
    readonly HashSet<string> paths = [];

    public IReadOnlyList<WorkUnit> Units => units;

    /// <summary>Adds a piece of work the first time a table asks for it.</summary>
    public void Add(WorkUnit unit)
    {
        if (paths.Add(unit.Path)) units.Add(unit);
    }

    /// <summary>
    /// Part <paramref name="index"/> (1-based) of <paramref name="count"/> disjoint parts that together cover the list:
    /// the units ordered by group (in the order groups first appear), then cut into runs of near-equal length, so that
    /// a group's units, which share training runs, mostly land in one part.
    /// </summary>
    public IReadOnlyList<WorkUnit> Part(int index, int count)
    {
        if (count < 1 || index < 1 || index > count) throw new LetheException($"--shard {index}/{count}: I must be between 1 and N");
        var groups = units.Select(u => u.Group).Distinct().ToList();
        var ordered = units.OrderBy(u => groups.IndexOf(u.Group)).ToList(); // stable: a group keeps its tables' order
        return [.. ordered.Where((_, i) => (long)i * count / ordered.Count == index - 1)];
    }

    /// <summary>A one-line error naming what is missing, unless every piece of work is done (`--assemble`).</summary>
    public void RequireDone(string folder, string command)
    {
        if (units.Where(u => !u.Done()).ToList() is { Count: > 0 } missing)
            throw new LetheException(
                $"{missing.Count} pieces of work are not in {Path.Combine(folder, CellCache.CellsFolder)} yet (the first: {missing[0].Path}); run the shards that hold them, or {command} without --assemble to measure them here");
    }

    /// <summary>Measures part <paramref name="index"/> of <paramref name="count"/> (<see cref="Part"/>); seconds from <paramref name="watch"/>.</summary>
    public ShardResult MeasurePart(int index, int count, WorkLocks locks, Action<string>? onStage, System.Diagnostics.Stopwatch watch)
    {
        var part = Part(index, count);
        var (measured, done) = Measure(part, locks, onStage);
        return new ShardResult(index, count, units.Count, part.Count, measured, done, watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Measures <paramref name="part"/> in a folder other processes share: work another process holds (its lock taken)
    /// is put off while other work is left, then waited for; work another process finished meanwhile is skipped.
    /// Returns how many units this process measured and how many it found done.
    /// </summary>
    public static (int Measured, int AlreadyDone) Measure(IReadOnlyList<WorkUnit> part, WorkLocks locks, Action<string>? onStage)
    {
        var queue = new Queue<WorkUnit>(part);
        var (measured, done, putOff) = (0, 0, 0);
        while (queue.TryDequeue(out var unit))
        {
            if (unit.Done())
            {
                done++;
                continue;
            }
            // Wait only when everything left is held by others: every unit was put off since the last one measured.
            locks.DeferBusy = putOff < queue.Count + 1;
            try
            {
                unit.Measure();
                measured++;
                putOff = 0;
            }
            catch (WorkBusyException busy)
            {
                onStage?.Invoke($"put off {unit.Path}: {busy.Message}");
                queue.Enqueue(unit);
                putOff++;
            }
        }
        locks.DeferBusy = false;
        return (measured, done);
    }
}
