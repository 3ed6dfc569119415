using Lethe.Data;
using Lethe.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace Lethe.Cli;

/// <summary>
/// Runs a <see cref="Trainer"/> with the progress people expect: a live bar (epoch, loss, rate, time left) on a terminal,
/// and one plain line per evaluation (and every tenth epoch) when the output is a log. Every long command trains through it.
/// </summary>
public static class TrainingProgress
{
    public static TrainingResult Run(IAnsiConsole console, TrainingSettings settings, Dataset data, MembershipSplit split, string folder, Device device, bool resume,
        CancellationToken cancel, string? label = null)
    {
        var prefix = label is null ? "" : label + " ";
        if (!console.Profile.Capabilities.Interactive)
        {
            var plain = new Trainer(settings, data, split, folder, device)
            {
                OnEpoch = m =>
                {
                    if (m.Evaluated || m.Epoch % 10 == 0) console.WriteLine($"{prefix}{Describe(m, settings.Epochs)} | {TimeLeft(m, settings.Epochs)}");
                },
            };
            return plain.Run(resume, cancel);
        }

        TrainingResult? result = null;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(prefix + "starting"), maxValue: settings.Epochs);
                var lastEval = "";
                var trainer = new Trainer(settings, data, split, folder, device)
                {
                    OnStep = s =>
                    {
                        task.Value = s.Epoch - 1 + (double)s.Step / s.StepsPerEpoch;
                        task.Description = Markup.Escape($"{prefix}epoch {s.Epoch}/{s.Epochs} loss {s.Loss:F4} {s.ImagesPerSecond:N0} img/s {lastEval}");
                    },
                    OnEpoch = m =>
                    {
                        task.Value = m.Epoch;
                        if (!m.Evaluated) return;
                        lastEval = $"| {Utility(m)} AUC {m.Membership!.HeadSimilarityAuc ?? m.Membership.ConfidenceAuc:F2}";
                        console.MarkupLine(Markup.Escape(prefix + Describe(m, settings.Epochs)));
                    },
                };
                result = trainer.Run(resume, cancel);
            });
        return result!;
    }

    /// <summary>One line: the epoch, its loss, and on evaluation epochs utility and the membership monitor.</summary>
    public static string Describe(EpochMetrics m, int epochs)
    {
        var line = $"epoch {m.Epoch}/{epochs} loss {m.Loss:F4}{(m.TrainAccuracy is { } train ? $" train {train:P1}" : "")} | {m.ImagesPerSecond:N0} img/s";
        return m.Evaluated ? $"{line} | {Utility(m)} | {m.Membership!.Describe()}" : line;
    }

    static string Utility(EpochMetrics m) => m.KnnAccuracy is { } knn ? $"knn {knn:P1}" : $"test {m.TestAccuracy:P1}";

    static string TimeLeft(EpochMetrics m, int epochs)
    {
        var left = TimeSpan.FromSeconds(m.TrainingSeconds / Math.Max(1, m.Epoch) * (epochs - m.Epoch));
        return $"{Duration(m.TrainingSeconds)}, {Duration(left.TotalSeconds)} left";
    }

    public static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return $"{(int)t.TotalHours:D2}:{t.Minutes:D2}:{t.Seconds:D2}";
    }
}
