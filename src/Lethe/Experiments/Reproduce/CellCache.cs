using System.Diagnostics;
using System.Text.Json;
using Lethe.Audits;
using Lethe.Storage;

namespace Lethe.Experiments;

/// <summary>
/// Finished experiment cells, kept in cells/ with the JSON of the settings that determine them (and each model's full
/// audit in audits/), so that an interrupted run continues where it stopped and a rerun reuses what it can. A cell whose
/// settings changed, or whose file is damaged, is measured again. Processes may share the folder (`reproduce --shard`):
/// a cell is measured under its lock (cells/CELL.lock, <see cref="WorkLocks"/>) and its file written atomically, last.
/// </summary>
public sealed class CellCache(string folder, WorkLocks? locks = null)
{
    readonly WorkLocks locks = locks ?? new WorkLocks();

    public const string CellsFolder = "cells";
    public const string AuditsFolder = "audits";

    /// <param name="Seconds">Wall-clock time of measuring the cell, training it triggered included.</param>
    sealed record CellFile(string Key, string Signature, Measurement Measurement, double Seconds);

    readonly Dictionary<CellKey, Measurement> cells = [];
    readonly Dictionary<CellKey, double> seconds = [];

    public IReadOnlyDictionary<CellKey, Measurement> Cells => cells;

    public int Measured { get; private set; }

    public int Reused { get; private set; }

    /// <summary>Wall-clock time the cells known to this run took when they were measured.</summary>
    public double Seconds => seconds.Values.Sum();

    /// <summary>The cell from the cache, or measured by <paramref name="compute"/> (checked for a stop first) and stored.</summary>
    public Measurement Get(CellKey key, object determinants, Func<(Measurement Measurement, IAuditReport Report)> compute, Action beforeMeasuring)
    {
        if (Cached(key, determinants) is { } cached) return cached;
        beforeMeasuring();
        using var held = Lock(key.Path, $"the experiment {key.Path}");
        Runtime.FaultPoints.Reach("cell:locked");
        if (Cached(key, determinants) is { } measured) return measured; // by the process we waited for
        var watch = Stopwatch.StartNew();
        var computed = compute();
        Store(key, determinants, computed, watch.Elapsed.TotalSeconds);
        return cells[key];
    }

    /// <summary>The cell if it is known with these settings; <paramref name="count"/> counts it as reused.</summary>
    public Measurement? Cached(CellKey key, object determinants, bool count = true)
    {
        if (cells.TryGetValue(key, out var known)) return known; // measured or read earlier in this run
        var path = CellPath(key);
        if (!File.Exists(path)) return null;
        try
        {
            var cell = LetheJson.ReadFile<CellFile>(path, "experiment cell");
            if (cell.Signature != LetheJson.Serialize(determinants)) return null;
            var scores = ScoresPath(key);
            if (!File.Exists(scores)) return null; // a cell is measured again when its per-sample scores are missing
            var measurement = cell.Measurement with { Scores = MembershipScores.Read(scores) };
            if (count) Reused++;
            cells[key] = measurement;
            seconds[key] = cell.Seconds;
            return measurement;
        }
        catch (Exception e) when (e is LetheException or JsonException)
        {
            return null; // a damaged cell is measured again
        }
    }

    /// <summary>Counts cells read together (SISA's two) as reused.</summary>
    public void CountReused(int count) => Reused += count;

    public void Store(CellKey key, object determinants, (Measurement Measurement, IAuditReport Report) computed, double wallSeconds)
    {
        Audit.Write(computed.Report, Path.Combine(folder, AuditsFolder, Path.GetDirectoryName(key.Path)!), Path.GetFileName(key.Path), compressScores: true);
        LetheJson.WriteFile(CellPath(key), new CellFile(key.Path, LetheJson.Serialize(determinants), computed.Measurement, wallSeconds));
        Measured++;
        cells[key] = computed.Measurement with { Scores = computed.Report.Scores };
        seconds[key] = wallSeconds;
    }

    /// <summary>The lock of a piece of work under cells/ (a cell, or SISA's pair of cells), by its path there.</summary>
    public WorkLock Lock(string path, string work) => locks.Take(Path.Combine(folder, CellsFolder, path + ".lock"), work);

    /// <summary>A cell's per-sample scores, beside its audit.</summary>
    public string ScoresPath(CellKey key) => Audit.ScoresPath(Path.Combine(folder, AuditsFolder, Path.GetDirectoryName(key.Path)!), Path.GetFileName(key.Path), compressed: true);

    string CellPath(CellKey key) => Path.Combine(folder, CellsFolder, key.Path + ".json");
}
