using System.Text.Json;

namespace Lethe.Storage;

/// <summary>
/// The files of a training run (contrastive or supervised): settings.json, split.json, metrics.jsonl (one line per
/// epoch), checkpoints/epoch-NNNN.ckpt, final.ckpt and summary.json.
/// </summary>
public sealed class RunFolder(string path)
{
    public const string SettingsFile = "settings.json";
    public const string SplitFile = "split.json";
    public const string MetricsFile = "metrics.jsonl";
    public const string FinalCheckpoint = "final.ckpt";
    public const string SummaryFile = "summary.json";

    public string Path { get; } = path;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string CheckpointPath(int epoch) => System.IO.Path.Combine(Path, "checkpoints", $"epoch-{epoch:D4}.ckpt");

    public bool Finished => System.IO.File.Exists(File(FinalCheckpoint));

    /// <summary>The newest epoch checkpoint, or null.</summary>
    public string? LatestCheckpoint()
    {
        var dir = System.IO.Path.Combine(Path, "checkpoints");
        return Directory.Exists(dir) ? Directory.GetFiles(dir, "epoch-*.ckpt").Order(StringComparer.Ordinal).LastOrDefault() : null;
    }

    /// <summary>Starts a fresh run: nothing of an earlier run in this folder may be resumed or read as this run's.</summary>
    public void StartFresh<TSettings>(TSettings settings, Data.MembershipSplit split)
    {
        Folders.Create(Path);
        var checkpoints = System.IO.Path.Combine(Path, "checkpoints");
        if (Directory.Exists(checkpoints)) Directory.Delete(checkpoints, recursive: true);
        foreach (var stale in new[] { MetricsFile, FinalCheckpoint, SummaryFile })
        {
            if (System.IO.File.Exists(File(stale))) System.IO.File.Delete(File(stale));
        }
        LetheJson.WriteFile(File(SettingsFile), settings);
        split.Save(File(SplitFile));
    }

    public void AppendMetrics<T>(T metrics) =>
        System.IO.File.AppendAllText(File(MetricsFile), JsonSerializer.Serialize(metrics, LetheJson.Compact) + "\n");

    public List<T> ReadMetrics<T>()
    {
        var path = File(MetricsFile);
        if (!System.IO.File.Exists(path)) return [];
        return System.IO.File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<T>(l, LetheJson.Compact)!).ToList();
    }

    /// <summary>Drops the metrics of epochs after the checkpoint a run resumes from, so that the file reads as one run.</summary>
    public void TrimMetrics<T>(int epoch, Func<T, int> epochOf)
    {
        var path = File(MetricsFile);
        if (!System.IO.File.Exists(path)) return;
        var kept = System.IO.File.ReadAllLines(path).Where(l => l.Length > 0)
            .Where(l => epochOf(JsonSerializer.Deserialize<T>(l, LetheJson.Compact)!) <= epoch);
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(l => l + "\n")));
    }
}
