using System.Diagnostics;
using Lethe.Data;
using Lethe.Storage;
using Lethe.Training;
using Lethe.Unlearning;
using static TorchSharp.torch;

namespace Lethe.Experiments;

/// <summary>What `lethe reproduce` measured: the tables, and how much was measured now rather than read from the cache.</summary>
/// <param name="CellSeconds">Wall-clock time the run's cells took when they were measured, whichever run measured them (training they triggered included).</param>
public sealed record ReproduceResult(
    ReproduceSettings Settings, IReadOnlyList<ResultTable> Tables, IReadOnlyDictionary<CellKey, Measurement> Cells, int Measured, int Reused, double Seconds, double CellSeconds);

/// <summary>Where the command line plugs into a reproduce run: data loading, training with a progress display, and logs.</summary>
public sealed record ReproduceHooks
{
    /// <summary>Loads a data set by name (the CLI passes its --data-dir).</summary>
    public Func<string, Dataset> LoadData { get; init; } = name => Datasets.Load(Datasets.Parse(name));

    /// <summary>Trains a run (recipe, data, split, folder, resume?) and returns whether it completed.</summary>
    public required Func<TrainingSettings, Dataset, MembershipSplit, string, bool, CancellationToken, bool> Train { get; init; }

    public Action<string>? OnStage { get; init; }

    public Action<UnlearningEpoch>? OnUnlearningEpoch { get; init; }

    /// <summary>Progress of SISA's shard training: shard, epoch metrics.</summary>
    public Action<int, EpochMetrics>? OnShardEpoch { get; init; }

    /// <summary>Hooks that train quietly with <see cref="Trainer"/>.</summary>
    public static ReproduceHooks Quiet(Device device) => new()
    {
        Train = (recipe, data, split, run, resume, cancel) => new Trainer(recipe, data, split, run, device).Run(resume, cancel).Completed,
    };
}

/// <summary>
/// Runs the paper's experiments (tables II to VII, one file each under Tables/) and the method comparison. Every
/// experiment is one cell (<see cref="Scenarios"/>): a model audited on one forget set under one seed, cached so that an
/// interrupted run continues where it stopped.
/// </summary>
public sealed class ReproducePipeline(ReproduceSettings settings, string folder, Device device, ReproduceHooks? hooks = null)
{
    /// <summary>Every table by id, in the order they are reported.</summary>
    static readonly (string Id, Func<ReproduceSettings, Scenarios, IEnumerable<ResultTable>> Build)[] Tables =
    [
        ("ii", TableII.Build),
        ("iii", TableIII.Build),
        ("iv", TableIV.Build),
        ("v", TableV.Build),
        ("vi", TableVI.Build),
        ("vii", TableVII.Build),
        ("methods", MethodTables.Build),
        ("targeted", TargetedTable.Build),
    ];

    /// <summary>
    /// Measures what the tables need (reading what is cached) and builds them. With <paramref name="assemble"/>, measures
    /// nothing: every piece of work must be cached already (after `--shard` runs), else a one-line error names what is not.
    /// </summary>
    public ReproduceResult Run(CancellationToken cancel = default, bool assemble = false)
    {
        settings.Validate();
        var watch = Stopwatch.StartNew();
        if (assemble) Plan(cancel).RequireDone(folder, "reproduce");
        var locks = Locks(cancel);
        var cache = new CellCache(folder, locks);
        var scenarios = new Scenarios(settings, folder, device, cache, Hooks, cancel, locks: locks);
        var tables = Build(scenarios);
        return new ReproduceResult(settings, tables, cache.Cells, cache.Measured, cache.Reused, watch.Elapsed.TotalSeconds, cache.Seconds);
    }

    /// <summary>Every piece of work the tables need, in order, whether cached or not (nothing is measured).</summary>
    public WorkPlan Plan(CancellationToken cancel = default)
    {
        settings.Validate();
        return ListWork(Locks(cancel), cancel);
    }

    /// <summary>
    /// Measures part <paramref name="index"/> of <paramref name="count"/> of the work (<see cref="WorkPlan.Part"/>) into
    /// the shared folder, building no table. Work another process holds (its lock taken) is put off while other work is
    /// left, then waited for; work another process finished meanwhile is skipped.
    /// </summary>
    public ShardResult RunShard(int index, int count, CancellationToken cancel = default)
    {
        settings.Validate();
        var watch = Stopwatch.StartNew();
        var locks = Locks(cancel);
        return ListWork(locks, cancel).MeasurePart(index, count, locks, Hooks.OnStage, watch);
    }

    ReproduceHooks Hooks => hooks ?? ReproduceHooks.Quiet(device);

    WorkLocks Locks(CancellationToken cancel) => new(Hooks.OnStage, cancel);

    WorkPlan ListWork(WorkLocks locks, CancellationToken cancel)
    {
        var plan = new WorkPlan();
        Build(new Scenarios(settings, folder, device, new CellCache(folder, locks), Hooks, cancel, plan, locks));
        return plan;
    }

    List<ResultTable> Build(Scenarios scenarios)
    {
        var tables = Tables.Where(t => settings.Runs(t.Id)).SelectMany(t => t.Build(settings, scenarios)).ToList();
        if (settings.Lira > 0) tables.AddRange(LiraTable.Build(settings, scenarios));
        return tables;
    }
}

/// <summary>What a `reproduce --shard I/N` (or `tune --shard I/N`) run did: its part of the work, measured now or found done.</summary>
public sealed record ShardResult(int Index, int Count, int Total, int Part, int Measured, int AlreadyDone, double Seconds);
