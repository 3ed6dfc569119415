using System.Diagnostics;
using Lethe.Audits;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Runtime;
using Lethe.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Supervised;

/// <summary>What the supervised membership monitor measured: members' vs non-members' AUC of the confidence and loss attacks.</summary>
public sealed record ClassifierMonitor(double ConfidenceAuc, double LossAuc, double MemberConfidence, double NonMemberConfidence);

/// <summary>One line of a supervised run's metrics.jsonl.</summary>
public sealed record ClassifierEpochMetrics
{
    public int Epoch { get; init; }

    public double Loss { get; init; }

    public double TrainAccuracy { get; init; }

    public double Seconds { get; init; }

    public double TrainingSeconds { get; init; }

    public double ImagesPerSecond { get; init; }

    public double? TestAccuracy { get; init; }

    public ClassifierMonitor? Membership { get; init; }
}

/// <summary>summary.json of a finished supervised run.</summary>
public sealed record ClassifierSummary(int Epoch, ClassifierEpochMetrics? LastEvaluation, double TrainingSeconds);

/// <summary>How a supervised run ended.</summary>
public sealed record ClassifierResult(string Checkpoint, int Epoch, bool Completed, ClassifierEpochMetrics? LastEvaluation);

/// <summary>
/// Trains a classifier with cross-entropy on the members of a split (or its retain or shadow set), in a run folder
/// laid out like a pretraining run's. Order and augmentations derive from the seed and the epoch, so a resumed run
/// ends with the weights of one that never stopped.
/// </summary>
public sealed class ClassifierTrainer
{
    readonly ClassifierSettings settings;
    readonly Dataset data;
    readonly MembershipSplit split;
    readonly RunFolder folder;
    readonly Device device;

    /// <summary>A trainer on the split's <see cref="ClassifierSettings.TrainOn"/> set, or on <paramref name="trainIds"/> when given (SISA's shards).</summary>
    public ClassifierTrainer(ClassifierSettings settings, Dataset data, MembershipSplit split, string folder, Device device, IReadOnlyList<int>? trainIds = null)
    {
        settings.Validate();
        this.settings = settings;
        this.data = data;
        this.split = split;
        this.folder = new RunFolder(folder);
        this.device = device;
        TrainIds = trainIds ?? split.TrainingIds(settings.TrainOn);
        if (TrainIds.Count < settings.BatchSize)
            throw new LetheException($"batch size {settings.BatchSize} is larger than the {TrainIds.Count} samples to train on ({settings.TrainOn})");
    }

    public IReadOnlyList<int> TrainIds { get; }

    public Action<StepReport>? OnStep { get; init; }

    public Action<ClassifierEpochMetrics>? OnEpoch { get; init; }

    public Classifier CreateModel()
    {
        manual_seed(Seeds.Derive(settings.Seed, "init"));
        var model = new Classifier(settings.Encoder, data.Train.Channels, data.Train.Height, data.Train.Width, data.Train.ClassCount);
        model.to(device);
        return model;
    }

    TorchSharp.Modules.OptimizerHelper CreateOptimizer(Classifier model) => settings.Optimizer switch
    {
        "adam" => optim.Adam(model.parameters(), lr: settings.LearningRate, weight_decay: settings.WeightDecay),
        _ => optim.SGD(model.parameters(), settings.LearningRate, momentum: settings.Momentum, weight_decay: settings.WeightDecay),
    };

    /// <summary>Trains from scratch, or from the newest checkpoint when <paramref name="resume"/> is set, until done or cancelled.</summary>
    public ClassifierResult Run(bool resume, CancellationToken cancel = default)
    {
        var architecture = Classifier.Architecture(settings.Encoder);
        var model = CreateModel();
        var optimizer = CreateOptimizer(model);
        var startEpoch = 0;
        var trainingSeconds = 0.0;
        if (resume && folder.Finished) throw new LetheException($"the run in {folder.Path} has already finished ({RunFolder.FinalCheckpoint})");
        if (resume && folder.LatestCheckpoint() is { } latest)
        {
            startEpoch = Checkpoint.Load(latest, model, architecture, optimizer).Epoch;
            trainingSeconds = folder.ReadMetrics<ClassifierEpochMetrics>().Where(m => m.Epoch <= startEpoch).Select(m => m.TrainingSeconds).LastOrDefault();
            folder.TrimMetrics<ClassifierEpochMetrics>(startEpoch, m => m.Epoch);
        }
        else
        {
            folder.StartFresh(settings, split);
        }

        var augmentation = new ContrastiveAugmentation(settings.Augmentation);
        var augment = settings.Augmentation != AugmentationSettings.None;
        var stepsPerEpoch = TrainIds.Count / settings.BatchSize; // the last partial batch is dropped
        ClassifierEpochMetrics? lastEvaluation = null;
        var epoch = startEpoch;
        var runWatch = Stopwatch.StartNew();
        var secondsAtStart = trainingSeconds;
        var evaluationSeconds = 0.0;
        model.train();
        while (epoch < settings.Epochs && !cancel.IsCancellationRequested)
        {
            var epochWatch = Stopwatch.StartNew();
            var order = TrainIds.ToArray();
            Seeds.Random(settings.Seed, $"order/{epoch}").Shuffle(order);
            using var generator = new Generator((ulong)Seeds.Derive(settings.Seed, $"augment/{epoch}"));
            double lossSum = 0;
            long correct = 0;
            for (var step = 0; step < stepsPerEpoch; step++)
            {
                using var scope = NewDisposeScope();
                var ids = order.AsSpan(step * settings.BatchSize, settings.BatchSize);
                var images = data.Train.Batch(ids, device);
                if (augment) images = augmentation.Apply(images, generator);
                var labels = data.Train.LabelBatch(ids, device);
                optimizer.zero_grad();
                var logits = model.forward(images);
                var loss = nn.functional.cross_entropy(logits, labels);
                var value = loss.item<float>();
                if (!float.IsFinite(value))
                    throw new LetheException($"the loss became {value} at epoch {epoch + 1}, step {step + 1}; the last good checkpoint is {folder.LatestCheckpoint() ?? "none"} (lower the learning rate)");
                loss.backward();
                optimizer.step();
                lossSum += value;
                correct += logits.argmax(1).eq(labels).sum().item<long>();
                var done = (epoch - startEpoch) * stepsPerEpoch + step + 1;
                var rate = done * settings.BatchSize / Math.Max(1e-9, runWatch.Elapsed.TotalSeconds - evaluationSeconds);
                var left = (settings.Epochs - epoch) * stepsPerEpoch - step - 1;
                OnStep?.Invoke(new StepReport(epoch + 1, settings.Epochs, step + 1, stepsPerEpoch, value, rate, runWatch.Elapsed,
                    TimeSpan.FromSeconds(left * settings.BatchSize / Math.Max(1e-9, rate))));
            }
            epoch++;
            var metrics = new ClassifierEpochMetrics
            {
                Epoch = epoch,
                Loss = lossSum / stepsPerEpoch,
                TrainAccuracy = (double)correct / (stepsPerEpoch * settings.BatchSize),
                Seconds = epochWatch.Elapsed.TotalSeconds,
                TrainingSeconds = secondsAtStart + runWatch.Elapsed.TotalSeconds,
                ImagesPerSecond = stepsPerEpoch * settings.BatchSize / epochWatch.Elapsed.TotalSeconds,
            };
            if (epoch % settings.EvalEvery == 0 || epoch == settings.Epochs)
            {
                var evaluationWatch = Stopwatch.StartNew();
                metrics = metrics with { TestAccuracy = TestAccuracy(model), Membership = Monitor(model) };
                evaluationSeconds += evaluationWatch.Elapsed.TotalSeconds;
                lastEvaluation = metrics;
                model.train();
            }
            folder.AppendMetrics(metrics);
            OnEpoch?.Invoke(metrics);
            if (epoch % settings.CheckpointEvery == 0 || epoch == settings.Epochs || cancel.IsCancellationRequested)
                Checkpoint.Save(folder.CheckpointPath(epoch), model, architecture, epoch, settings.Seed, settings, optimizer);
        }

        var completed = epoch >= settings.Epochs;
        var result = folder.CheckpointPath(epoch);
        if (completed)
        {
            result = folder.File(RunFolder.FinalCheckpoint);
            Checkpoint.Save(result, model, architecture, epoch, settings.Seed, settings, optimizer);
            LetheJson.WriteFile(folder.File(RunFolder.SummaryFile), new ClassifierSummary(epoch, lastEvaluation, secondsAtStart + runWatch.Elapsed.TotalSeconds));
        }
        return new ClassifierResult(result, epoch, completed, lastEvaluation ?? folder.ReadMetrics<ClassifierEpochMetrics>().LastOrDefault(m => m.TestAccuracy is not null));
    }

    /// <summary>Accuracy on the whole test split.</summary>
    public double TestAccuracy(Classifier model) => ClassifierSignals.Accuracy(model, data.Test, Enumerable.Range(0, data.Test.Count).ToArray(), device);

    /// <summary>The confidence and loss attacks' AUC, training samples against non-members.</summary>
    public ClassifierMonitor Monitor(Classifier model)
    {
        var members = ClassifierSignals.Compute(model, data.Train, TrainIds.Take(settings.MonitorSamples).ToArray(), 1, device);
        var nonMembers = ClassifierSignals.Compute(model, data.Test, split.NonMembers.Take(settings.MonitorSamples).ToArray(), 1, device);
        return new ClassifierMonitor(
            RocAuc.Compute(members.Top1, nonMembers.Top1),
            RocAuc.Compute([.. members.Loss.Select(l => -l)], [.. nonMembers.Loss.Select(l => -l)]),
            members.Top1.Average(),
            nonMembers.Top1.Average());
    }
}
