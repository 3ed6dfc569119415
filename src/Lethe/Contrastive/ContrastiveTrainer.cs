using System.Diagnostics;
using Lethe.Audits;
using Lethe.Data;
using Lethe.Runtime;
using Lethe.Storage;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Contrastive;

/// <summary>Where a run stands after each step; drives progress displays.</summary>
public sealed record StepReport(int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss, double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Remaining);

/// <summary>One line of metrics.jsonl: an epoch's loss and, on evaluation epochs, kNN accuracy and the membership monitor.</summary>
public sealed record EpochMetrics
{
    public int Epoch { get; init; }

    public double Loss { get; init; }

    public double LearningRate { get; init; }

    public double Seconds { get; init; }

    public double TrainingSeconds { get; init; }

    public double ImagesPerSecond { get; init; }

    public double? KnnAccuracy { get; init; }

    public MembershipMonitorResult? Membership { get; init; }
}

/// <summary>summary.json of a finished run: its last evaluation, linear probe and training time (evaluations included).</summary>
public sealed record PretrainSummary(int Epoch, EpochMetrics? LastEvaluation, double? LinearProbeAccuracy, double TrainingSeconds);

/// <summary>How a run ended.</summary>
public sealed record PretrainResult(string Checkpoint, int Epoch, bool Completed, EpochMetrics? LastEvaluation, double? LinearProbeAccuracy);

/// <summary>
/// Trains a contrastive encoder on the members of a split, in a run folder holding settings.json, split.json,
/// metrics.jsonl and checkpoints. Every random draw derives from the seed and the epoch, so a run resumed from
/// a checkpoint ends with the same weights as one that never stopped.
/// </summary>
public sealed class ContrastiveTrainer
{
    public const string SettingsFile = RunFolder.SettingsFile;
    public const string SplitFile = RunFolder.SplitFile;
    public const string MetricsFile = RunFolder.MetricsFile;
    public const string FinalCheckpoint = RunFolder.FinalCheckpoint;
    public const string SummaryFile = RunFolder.SummaryFile;

    readonly PretrainSettings settings;
    readonly Dataset data;
    readonly MembershipSplit split;
    readonly string folder;
    readonly RunFolder run;
    readonly Device device;

    public ContrastiveTrainer(PretrainSettings settings, Dataset data, MembershipSplit split, string folder, Device device)
    {
        settings.Validate();
        this.settings = settings;
        this.data = data;
        this.split = split;
        TrainIds = split.TrainingIds(settings.TrainOn);
        if (TrainIds.Count < settings.BatchSize)
            throw new LetheException($"batch size {settings.BatchSize} is larger than the {TrainIds.Count} samples to train on ({settings.TrainOn})");
        this.folder = folder;
        run = new RunFolder(folder);
        this.device = device;
    }

    /// <summary>The training-split ids the encoder trains on (see <see cref="PretrainSettings.TrainOn"/>).</summary>
    public IReadOnlyList<int> TrainIds { get; }

    public Action<StepReport>? OnStep { get; init; }

    public Action<EpochMetrics>? OnEpoch { get; init; }

    public static string CheckpointPath(string folder, int epoch) => new RunFolder(folder).CheckpointPath(epoch);

    /// <summary>The newest epoch checkpoint of a run folder, or null.</summary>
    public static string? LatestCheckpoint(string folder) => new RunFolder(folder).LatestCheckpoint();

    /// <summary>Builds the model with the run's initialisation seed.</summary>
    public ContrastiveModel CreateModel()
    {
        manual_seed(Seeds.Derive(settings.Seed, "init"));
        var model = ContrastiveModels.Create(settings, data.Train.Channels, data.Train.Height, data.Train.Width);
        model.to(device);
        return model;
    }

    public OptimizerHelper CreateOptimizer(ContrastiveModel model) => settings.Optimizer switch
    {
        "adam" => optim.Adam(model.TrainableParameters(), lr: settings.LearningRate, weight_decay: settings.WeightDecay),
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
    public PretrainResult Run(bool resume, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(folder);
        var architecture = ContrastiveModels.Architecture(settings);
        var model = CreateModel();
        var optimizer = CreateOptimizer(model);
        var startEpoch = 0;
        var trainingSeconds = 0.0;
        if (resume && File.Exists(Path.Combine(folder, FinalCheckpoint)))
            throw new LetheException($"the run in {folder} has already finished ({FinalCheckpoint})");
        if (resume && LatestCheckpoint(folder) is { } latest)
        {
            var manifest = Checkpoint.Load(latest, model, architecture, optimizer);
            startEpoch = manifest.Epoch;
            trainingSeconds = ReadMetrics(folder).Where(m => m.Epoch <= startEpoch).Select(m => m.TrainingSeconds).LastOrDefault();
            run.TrimMetrics<EpochMetrics>(startEpoch, m => m.Epoch);
        }
        else
        {
            run.StartFresh(settings, split);
        }

        var augmentation = new ContrastiveAugmentation(settings.Augmentation);
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
            Seeds.Random(settings.Seed, $"order/{epoch}").Shuffle(order);
            using var generator = new Generator((ulong)Seeds.Derive(settings.Seed, $"augment/{epoch}"));
            double lossSum = 0;
            double lr = 0;
            for (var step = 0; step < stepsPerEpoch; step++)
            {
                using var scope = NewDisposeScope();
                lr = LearningRateAt(epoch + (double)step / stepsPerEpoch);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                var images = data.Train.Batch(order.AsSpan(step * settings.BatchSize, settings.BatchSize), device);
                var (first, second) = augmentation.TwoViews(images, generator);
                optimizer.zero_grad();
                var loss = model.Loss(first, second);
                var value = loss.item<float>();
                if (!float.IsFinite(value))
                    throw new LetheException($"the loss became {value} at epoch {epoch + 1}, step {step + 1}; the last good checkpoint is {LatestCheckpoint(folder) ?? "none"} (lower the learning rate or raise the temperature)");
                loss.backward();
                optimizer.step();
                model.AfterStep((epoch * stepsPerEpoch + step + 1) / totalSteps);
                lossSum += value;
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
            };
            if (epoch % settings.EvalEvery == 0 || epoch == settings.Epochs)
            {
                var evaluationWatch = System.Diagnostics.Stopwatch.StartNew();
                metrics = Evaluate(model, metrics);
                evaluationSeconds += evaluationWatch.Elapsed.TotalSeconds;
                lastEvaluation = metrics;
                model.train();
            }
            AppendMetrics(metrics);
            OnEpoch?.Invoke(metrics);
            if (epoch % settings.CheckpointEvery == 0 || epoch == settings.Epochs || cancel.IsCancellationRequested)
                Checkpoint.Save(CheckpointPath(folder, epoch), model, architecture, epoch, settings.Seed, settings, optimizer);
        }

        var completed = epoch >= settings.Epochs;
        double? probe = null;
        string result;
        if (completed)
        {
            probe = LinearProbeAccuracy(model);
            result = Path.Combine(folder, FinalCheckpoint);
            Checkpoint.Save(result, model, architecture, epoch, settings.Seed, settings, optimizer);
            LetheJson.WriteFile(Path.Combine(folder, SummaryFile), new PretrainSummary(epoch, lastEvaluation, probe, trainingSeconds));
        }
        else
        {
            result = CheckpointPath(folder, epoch);
        }
        return new PretrainResult(result, epoch, completed, lastEvaluation ?? ReadMetrics(folder).LastOrDefault(m => m.KnnAccuracy is not null), probe);
    }

    EpochMetrics Evaluate(ContrastiveModel model, EpochMetrics metrics)
    {
        var monitorMembers = TrainIds.Take(settings.MonitorSamples).ToArray();
        var monitorNonMembers = split.NonMembers.Take(settings.MonitorSamples).ToArray();
        var membership = MembershipMonitor.Measure(model, data.Train, monitorMembers, data.Test, monitorNonMembers,
            new ContrastiveAugmentation(settings.Augmentation), settings.MonitorViews, settings.Seed, device);
        return metrics with { KnnAccuracy = KnnAccuracy(model), Membership = membership };
    }

    /// <summary>kNN accuracy on the whole test split, with the training samples' features as the bank.</summary>
    public double KnnAccuracy(ContrastiveModel model)
    {
        using var scope = NewDisposeScope();
        var (bank, bankLabels) = FeaturesOf(model, data.Train, TrainIds);
        var (queries, queryLabels) = FeaturesOf(model, data.Test, Enumerable.Range(0, data.Test.Count).ToArray());
        return KnnClassifier.Accuracy(bank, bankLabels, queries, queryLabels, data.Train.ClassCount, settings.KnnK, settings.KnnTemperature);
    }

    double LinearProbeAccuracy(ContrastiveModel model)
    {
        using var scope = NewDisposeScope();
        var (train, trainLabels) = FeaturesOf(model, data.Train, TrainIds);
        var (test, testLabels) = FeaturesOf(model, data.Test, Enumerable.Range(0, data.Test.Count).ToArray());
        return LinearProbe.Accuracy(train, trainLabels, test, testLabels, data.Train.ClassCount, settings.LinearProbeEpochs, seed: settings.Seed);
    }

    /// <summary>Backbone features of the images at <paramref name="ids"/>, in eval mode, with their labels.</summary>
    public (Tensor Features, long[] Labels) FeaturesOf(ContrastiveModel model, ImageSet images, IReadOnlyList<int> ids) =>
        BackboneFeatures.Of(model, images, ids, device);

    void AppendMetrics(EpochMetrics metrics) => run.AppendMetrics(metrics);

    public static List<EpochMetrics> ReadMetrics(string folder) => new RunFolder(folder).ReadMetrics<EpochMetrics>();
}
