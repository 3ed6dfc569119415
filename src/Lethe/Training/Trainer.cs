using System.Diagnostics;
using System.Text.Json.Serialization;
using Lethe.Audits;
using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Storage;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Training;

/// <summary>Where a run stands after each step; drives progress displays.</summary>
public sealed record StepReport(int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss, double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Remaining);

/// <summary>
/// One line of metrics.jsonl: an epoch's loss (and a classifier's training accuracy) and, on evaluation epochs, utility
/// (kNN accuracy for an encoder, test accuracy for a classifier) and the membership monitor.
/// </summary>
public sealed record EpochMetrics
{
    public int Epoch { get; init; }

    public double Loss { get; init; }

    public double LearningRate { get; init; }

    public double Seconds { get; init; }

    public double TrainingSeconds { get; init; }

    public double ImagesPerSecond { get; init; }

    public double? TrainAccuracy { get; init; }

    public double? KnnAccuracy { get; init; }

    public double? TestAccuracy { get; init; }

    public MembershipMonitorResult? Membership { get; init; }

    /// <summary>Whether this epoch was evaluated.</summary>
    [JsonIgnore]
    public bool Evaluated => Membership is not null;
}

/// <summary>summary.json of a finished run: its last evaluation, an encoder's linear probe, and the training time (evaluations included).</summary>
public sealed record TrainingSummary(int Epoch, EpochMetrics? LastEvaluation, double? LinearProbeAccuracy, double TrainingSeconds);

/// <summary>How a run ended.</summary>
public sealed record TrainingResult(string Checkpoint, int Epoch, bool Completed, EpochMetrics? LastEvaluation, double? LinearProbeAccuracy);

/// <summary>
/// Trains any learner on the members of a split (or its retain or shadow set, or given ids), in a run folder holding
/// settings.json, split.json, metrics.jsonl and checkpoints. Every random draw derives from the seed and the epoch, so a
/// run resumed from a checkpoint ends with the same weights as one that never stopped.
/// </summary>
public sealed class Trainer
{
    readonly TrainingSettings settings;
    readonly Dataset data;
    readonly MembershipSplit split;
    readonly RunFolder run;
    readonly Device device;

    /// <summary>A trainer on the split's <see cref="TrainingSettings.TrainOn"/> set, or on <paramref name="trainIds"/> when given (SISA's shards).</summary>
    public Trainer(TrainingSettings settings, Dataset data, MembershipSplit split, string folder, Device device, IReadOnlyList<int>? trainIds = null)
    {
        settings.Validate();
        this.settings = settings;
        this.data = data;
        this.split = split;
        TrainIds = trainIds ?? split.TrainingIds(settings.TrainOn);
        if (TrainIds.Count < settings.BatchSize)
            throw new LetheException($"batch size {settings.BatchSize} is larger than the {TrainIds.Count} samples to train on ({settings.TrainOn})");
        run = new RunFolder(folder);
        this.device = device;
    }

    /// <summary>The training-split ids the learner trains on.</summary>
    public IReadOnlyList<int> TrainIds { get; }

    public Action<StepReport>? OnStep { get; init; }

    public Action<EpochMetrics>? OnEpoch { get; init; }

    /// <summary>Builds the learner with the run's initialisation seed.</summary>
    public Learner CreateModel()
    {
        return Seeds.WithGlobalGenerator(Seeds.Derive(settings.RandomnessSeed, "init"), () => TrainingRun.Build(settings, data, device));
    }

    public OptimizerHelper CreateOptimizer(Learner model) => settings.Optimizer switch
    {
        "adam" => FusedAdam.Create(model.TrainableParameters(), settings.LearningRate, settings.WeightDecay),
        _ => optim.SGD(model.TrainableParameters(), settings.LearningRate, momentum: settings.Momentum, weight_decay: settings.WeightDecay),
    };

    /// <summary>Learning rate at a fractional epoch: linear warm-up, then constant or cosine decay.</summary>
    public double LearningRateAt(double epoch)
    {
        if (epoch < settings.WarmupEpochs) return settings.LearningRate * (epoch + 1e-3) / settings.WarmupEpochs;
        if (settings.Schedule == "constant") return settings.LearningRate;
        var t = (epoch - settings.WarmupEpochs) / Math.Max(1e-9, settings.Epochs - settings.WarmupEpochs);
        return settings.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Clamp(t, 0, 1)));
    }

    /// <summary>Trains from scratch, or from the newest checkpoint when <paramref name="resume"/> is set, until done or cancelled.</summary>
    public TrainingResult Run(bool resume, CancellationToken cancel = default)
    {
        using var model = CreateModel();
        using var optimizer = CreateOptimizer(model);
        var startEpoch = 0;
        var trainingSeconds = 0.0;
        if (resume && run.Finished) throw new LetheException($"the run in {run.Path} has already finished ({RunFolder.FinalCheckpoint})");
        if (resume && run.LatestCheckpoint() is { } latest)
        {
            startEpoch = Checkpoint.Load(latest, model, settings.Architecture, optimizer).Epoch;
            trainingSeconds = run.ReadMetrics<EpochMetrics>().Where(m => m.Epoch <= startEpoch).Select(m => m.TrainingSeconds).LastOrDefault();
            run.TrimMetrics<EpochMetrics>(startEpoch, m => m.Epoch);
        }
        else
        {
            run.StartFresh(settings, split);
        }

        var stepsPerEpoch = TrainIds.Count / settings.BatchSize; // the last partial batch is dropped
        var totalSteps = (double)stepsPerEpoch * settings.Epochs;
        EpochMetrics? lastEvaluation = null;
        var epoch = startEpoch;
        var runWatch = Stopwatch.StartNew();
        var secondsAtStart = trainingSeconds;
        var evaluationSeconds = 0.0; // kept out of images/s, which measures training steps
        model.train();
        while (epoch < settings.Epochs && !cancel.IsCancellationRequested)
        {
            var epochWatch = Stopwatch.StartNew();
            var order = TrainIds.ToArray();
            Seeds.Random(settings.RandomnessSeed, $"order/{epoch}").Shuffle(order);
            using var generator = new Generator((ulong)Seeds.Derive(settings.RandomnessSeed, $"augment/{epoch}"));
            double lossSum = 0;
            double lr = 0;
            long correct = 0;
            for (var step = 0; step < stepsPerEpoch; step++)
            {
                using var scope = NewDisposeScope();
                lr = LearningRateAt(epoch + (double)step / stepsPerEpoch);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                var ids = order.AsSpan(step * settings.BatchSize, settings.BatchSize);
                var images = data.Train.Batch(ids, device);
                var labels = data.Train.LabelBatch(ids, device);
                optimizer.zero_grad();
                var (loss, logits) = model.TrainingLoss(images, labels, generator);
                var value = loss.item<float>();
                if (!float.IsFinite(value))
                    throw new LetheException($"the loss became {value} at epoch {epoch + 1}, step {step + 1}; the last good checkpoint is {run.LatestCheckpoint() ?? "none"} " +
                        $"(lower the learning rate{(settings.IsEncoder ? " or raise the temperature" : "")}; if the same seed turns NaN only sometimes, set LETHE_ZERO_FILL=1: docs/allocation-fill.md)");
                loss.backward();
                optimizer.step();
                model.AfterStep((epoch * stepsPerEpoch + step + 1) / totalSteps);
                lossSum += value;
                if (logits is not null) correct += logits.argmax(1).eq(labels).sum().item<long>();
                var done = (epoch - startEpoch) * stepsPerEpoch + step + 1;
                var rate = done * settings.BatchSize / Math.Max(1e-9, runWatch.Elapsed.TotalSeconds - evaluationSeconds);
                var left = (settings.Epochs - epoch) * stepsPerEpoch - step - 1;
                OnStep?.Invoke(new StepReport(epoch + 1, settings.Epochs, step + 1, stepsPerEpoch, value, rate, runWatch.Elapsed,
                    TimeSpan.FromSeconds(left * settings.BatchSize / Math.Max(1e-9, rate))));
            }
            epoch++;
            trainingSeconds = secondsAtStart + runWatch.Elapsed.TotalSeconds;
            var metrics = new EpochMetrics
            {
                Epoch = epoch,
                Loss = lossSum / stepsPerEpoch,
                LearningRate = lr,
                Seconds = epochWatch.Elapsed.TotalSeconds,
                TrainingSeconds = trainingSeconds,
                ImagesPerSecond = stepsPerEpoch * settings.BatchSize / epochWatch.Elapsed.TotalSeconds,
                TrainAccuracy = settings.IsEncoder ? null : (double)correct / (stepsPerEpoch * settings.BatchSize),
            };
            if (epoch % settings.EvalEvery == 0 || epoch == settings.Epochs)
            {
                var evaluationWatch = Stopwatch.StartNew();
                metrics = Evaluate(model, metrics);
                evaluationSeconds += evaluationWatch.Elapsed.TotalSeconds;
                lastEvaluation = metrics;
                model.train();
            }
            run.AppendMetrics(metrics);
            OnEpoch?.Invoke(metrics);
            if (epoch % settings.CheckpointEvery == 0 || epoch == settings.Epochs || cancel.IsCancellationRequested)
                Checkpoint.Save(run.CheckpointPath(epoch), model, settings.Architecture, epoch, settings.Seed, settings, optimizer);
        }

        var completed = epoch >= settings.Epochs;
        double? probe = null;
        var result = run.CheckpointPath(epoch);
        if (completed)
        {
            probe = settings.IsEncoder ? Utility(model, probe: true).Probe : null;
            result = run.File(RunFolder.FinalCheckpoint);
            Checkpoint.Save(result, model, settings.Architecture, epoch, settings.Seed, settings, optimizer);
            LetheJson.WriteFile(run.File(RunFolder.SummaryFile), new TrainingSummary(epoch, lastEvaluation, probe, trainingSeconds));
        }
        return new TrainingResult(result, epoch, completed, lastEvaluation ?? run.ReadMetrics<EpochMetrics>().LastOrDefault(m => m.Evaluated), probe);
    }

    /// <summary>Utility on the whole test split and the membership monitor on up to MonitorSamples training samples and non-members.</summary>
    EpochMetrics Evaluate(Learner model, EpochMetrics metrics)
    {
        var membership = MembershipMonitor.Measure(model, data, [.. TrainIds.Take(settings.MonitorSamples)], [.. split.NonMembers.Take(settings.MonitorSamples)], settings.Seed, device);
        var test = Enumerable.Range(0, data.Test.Count).ToArray();
        return settings.IsEncoder
            ? metrics with { KnnAccuracy = Utility(model, probe: false).Knn, Membership = membership }
            : metrics with { TestAccuracy = ClassifierSignals.Accuracy(model, data.Test, test, device), Membership = membership };
    }

    /// <summary>kNN accuracy (and, with <paramref name="probe"/>, the linear probe) on the whole test split, the training samples as the bank.</summary>
    (double Knn, double? Probe) Utility(Learner model, bool probe) => EncoderAudit.Utility(model, data, TrainIds, settings,
        new AuditSettings { LinearProbe = probe, LinearProbeEpochs = settings.LinearProbeEpochs, Seed = settings.Seed }, device);
}
