using System.Text.Json;
using Lethe.Data;
using Lethe.Storage;
using Lethe.Training;

namespace Lethe.Experiments;

/// <summary>
/// Wall-clock time of one stage; a cached stage reports the time it took when it ran. For training stages
/// <see cref="Seconds"/> counts the training steps only and <see cref="WithEvaluations"/> adds the periodic kNN and
/// membership evaluations, so that the retrain/unlearn ratio compares training with training.
/// </summary>
public sealed record StageTiming(string Stage, double Seconds, bool Cached, double? WithEvaluations = null);

/// <summary>Thrown when the user stops a training stage; its checkpoint lets the next run continue.</summary>
public sealed class ExperimentStoppedException(string message) : LetheException(message);

/// <summary>
/// The training runs an experiment needs, cached in their run folders: a finished run of the same settings and split
/// is reused, a stopped one resumes from its newest checkpoint, anything else is trained afresh. Works for every
/// learner.
/// </summary>
public static class TrainedRuns
{
    /// <summary>
    /// Makes sure <paramref name="runFolder"/> holds a finished run of <paramref name="settings"/> on
    /// <paramref name="split"/>. <paramref name="train"/> gets "resume?" and returns whether the run completed. Training
    /// holds the run's lock (RUN.lock beside the folder; <paramref name="locks"/>: how to wait), so that processes
    /// sharing the folder never train the same run at once: the second one waits and reuses it.
    /// </summary>
    public static StageTiming Ensure(
        string stage, TrainingSettings settings, MembershipSplit split, string runFolder, Func<bool, bool> train, string rerun = "run the command again", WorkLocks? locks = null)
    {
        var folder = new RunFolder(runFolder);
        if (Done(folder, settings, split)) return Timing(stage, folder, cached: true);
        using var held = (locks ?? new WorkLocks()).Take(LockPath(runFolder), $"the run in {runFolder}");
        var same = SameRun(folder, settings, split);
        if (same && Finished(folder)) return Timing(stage, folder, cached: true); // trained by the process we waited for
        var resume = same && folder.LatestCheckpoint() is not null && !folder.Finished;
        if (!train(resume))
            throw new ExperimentStoppedException($"stopped during {stage}; {rerun} to continue from {Path.GetFullPath(folder.LatestCheckpoint() ?? runFolder)}");
        return Timing(stage, folder, cached: false);
    }

    /// <summary>The lock file of a run folder: beside it, so that deleting the folder leaves the lock alone.</summary>
    public static string LockPath(string runFolder) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(runFolder)) + ".lock";

    static bool Done(RunFolder folder, TrainingSettings settings, MembershipSplit split) => SameRun(folder, settings, split) && Finished(folder);

    static bool Finished(RunFolder folder) => folder.Finished && File.Exists(folder.File(RunFolder.SummaryFile));

    /// <summary>Seconds of the run's training steps, its periodic evaluations excluded.</summary>
    public static double StepSeconds(string runFolder) => new RunFolder(runFolder).ReadMetrics<EpochSeconds>().Sum(m => m.Seconds);

    sealed record EpochSeconds(int Epoch, double Seconds);

    sealed record RunSeconds(double TrainingSeconds);

    static StageTiming Timing(string stage, RunFolder folder, bool cached)
    {
        var summary = LetheJson.ReadFile<RunSeconds>(folder.File(RunFolder.SummaryFile), "run summary");
        return new StageTiming(stage, StepSeconds(folder.Path), cached, summary.TrainingSeconds);
    }

    static bool SameRun(RunFolder folder, TrainingSettings settings, MembershipSplit split)
    {
        var settingsPath = folder.File(RunFolder.SettingsFile);
        var splitPath = folder.File(RunFolder.SplitFile);
        if (!File.Exists(settingsPath) || !File.Exists(splitPath)) return false;
        try
        {
            var saved = TrainingRun.ReadSettings(folder.Path);
            var savedSplit = LetheJson.ReadFile<MembershipSplit>(splitPath, "split");
            return LetheJson.Serialize(saved) == LetheJson.Serialize(settings) && LetheJson.Serialize(savedSplit) == LetheJson.Serialize(split);
        }
        catch (Exception e) when (e is LetheException or JsonException)
        {
            return false; // a damaged run is simply trained afresh
        }
    }
}
