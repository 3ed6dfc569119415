using System.Text.Json.Serialization;
using Lethe.Data;
using Lethe.Models;

namespace Lethe.Training;

/// <summary>
/// Every setting of a training run, for any learner (<see cref="TrainingMethods"/>); saved as the run's settings.json,
/// whose <see cref="Method"/> names the learner and so the run's kind. The loss settings (temperature, queue, momentum,
/// tau) and the kNN and view-monitor settings apply to encoders only.
/// </summary>
public sealed record TrainingSettings
{
    /// <summary>The learner: simclr, moco, byol or classifier.</summary>
    public string Method { get; init; } = "simclr";

    public string Dataset { get; init; } = Datasets.DefaultName;

    /// <summary>How to read an image-folder data set (its root, test split, size and channels); null for the fixed formats.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FolderOptions? Folder { get; init; }

    /// <summary>
    /// Which part of the split the encoder trains on: members (the target model), retain (the retrain-from-scratch
    /// reference: members minus the forget set, same recipe) or shadow (a shadow encoder for attacks, on the shadow members).
    /// </summary>
    public string TrainOn { get; init; } = "members";

    /// <summary>Members and non-members drawn when no split manifest is given (the forget fraction is kept for later unlearning).</summary>
    public int Members { get; init; } = 128;

    public int NonMembers { get; init; } = 128;

    public double ForgetFraction { get; init; } = 0.2;

    public EncoderSettings Encoder { get; init; } = new();

    /// <summary>The training augmentation; the presets give classifiers none (docs/supervised-overfit.md).</summary>
    public AugmentationSettings Augmentation { get; init; } = AugmentationSettings.Weak;

    public int Epochs { get; init; } = 300;

    public int BatchSize { get; init; } = 64;

    /// <summary>adam or sgd.</summary>
    public string Optimizer { get; init; } = "adam";

    public double LearningRate { get; init; } = 1e-3;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    public double WeightDecay { get; init; }

    /// <summary>constant or cosine (decay to zero over the run, after linear warm-up).</summary>
    public string Schedule { get; init; } = "constant";

    public int WarmupEpochs { get; init; }

    /// <summary>Softmax temperature of NT-Xent (SimCLR) and InfoNCE (MoCo).</summary>
    public double Temperature { get; init; } = 0.1;

    public int QueueSize { get; init; } = 4096;

    /// <summary>MoCo's key-encoder momentum.</summary>
    public double KeyMomentum { get; init; } = 0.99;

    /// <summary>BYOL's base target decay.</summary>
    public double TauBase { get; init; } = 0.99;

    /// <summary>Evaluate (kNN, membership monitor) every this many epochs, and at the end.</summary>
    public int EvalEvery { get; init; } = 10;

    public int CheckpointEvery { get; init; } = 10;

    public int KnnK { get; init; } = 200;

    public double KnnTemperature { get; init; } = 0.1;

    public int MonitorViews { get; init; } = 10;

    /// <summary>Members and non-members scored by the membership monitor (at most the set sizes).</summary>
    public int MonitorSamples { get; init; } = 128;

    public int LinearProbeEpochs { get; init; } = 300;

    public long Seed { get; init; }

    /// <summary>
    /// Seeds initialisation, batch order and augmentation apart from the split when set (a second training of the
    /// same split: an independent retraining, say); null: <see cref="Seed"/> seeds everything. Left out of the JSON
    /// when null, so runs written before it existed keep their settings.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? TrainingSeed { get; init; }

    /// <summary>The seed of initialisation, batch order and augmentation.</summary>
    [JsonIgnore]
    public long RandomnessSeed => TrainingSeed ?? Seed;

    public void Validate()
    {
        TrainingMethods.Get(Method);
        if (TrainOn is not ("members" or "retain" or "shadow")) throw new LetheException($"unknown training set '{TrainOn}': use members, retain or shadow");
        if (Optimizer is not ("adam" or "sgd")) throw new LetheException($"unknown optimizer '{Optimizer}': use adam or sgd");
        if (Schedule is not ("constant" or "cosine")) throw new LetheException($"unknown schedule '{Schedule}': use constant or cosine");
        if (Epochs < 1) throw new LetheException($"epochs must be at least 1, not {Epochs}");
        if (BatchSize < 2) throw new LetheException($"batch size must be at least 2 (batch norm and negatives need pairs), not {BatchSize}");
        if (!(LearningRate > 0)) throw new LetheException($"learning rate must be positive, not {LearningRate}");
        if (!(Temperature > 0)) throw new LetheException($"temperature must be positive, not {Temperature}");
        if (EvalEvery < 1 || CheckpointEvery < 1) throw new LetheException("eval and checkpoint intervals must be at least 1 epoch");
        if (MonitorViews < 2) throw new LetheException("the membership monitor needs at least 2 views");
        if (MonitorSamples < 1) throw new LetheException("the membership monitor needs at least one sample");
        Encoder.Validate();
        Augmentation.Validate();
    }

    /// <summary>Whether the learner is an encoder (contrastive or self-supervised) rather than a classifier.</summary>
    [JsonIgnore]
    public bool IsEncoder => TrainingMethods.Get(Method).IsEncoder;

    /// <summary>The architecture name written into checkpoints, e.g. moco/small-cnn.</summary>
    [JsonIgnore]
    public string Architecture => $"{Method}/{Encoder.Architecture}";

    /// <summary>The split a run of these settings draws when no manifest is given.</summary>
    [JsonIgnore]
    public SplitSettings Split => new() { Members = Members, NonMembers = NonMembers, ForgetFraction = ForgetFraction, Seed = Seed };
}

/// <summary>
/// Named recipes for every learner: <c>tiny</c> for tests, <c>overfit</c> for this machine (docs/overfit-preset.md and
/// docs/supervised-overfit.md), <c>paper</c> for the paper's protocol. A classifier learns without augmentation: one
/// that memorises is what the audits need.
/// </summary>
public static class TrainingPresets
{
    public static IReadOnlyList<string> Names { get; } = ["tiny", "overfit", "paper"];

    public static TrainingSettings Get(string preset, string method)
    {
        var s = new TrainingSettings { Method = method };
        var encoder = s.IsEncoder;
        s = preset switch
        {
            "tiny" => s with
            {
                Members = 32,
                NonMembers = 32,
                Epochs = 2,
                BatchSize = 16,
                EvalEvery = 1,
                CheckpointEvery = 1,
                Encoder = new() { Width = 4, FeatureDim = 32, HeadHidden = 32, HeadDim = 16 },
                QueueSize = 64,
                KnnK = 10,
                MonitorViews = 3,
                MonitorSamples = 16,
                LinearProbeEpochs = 20,
            },
            // Measured on Fashion-MNIST, 2 cores, with the default small CNN, Adam 1e-3 and batch 64: the encoders'
            // runs are in docs/overfit-preset.md; the classifier's confidence AUC is 0.764 after 500 epochs.
            "overfit" => s with
            {
                Members = 256,
                // Half calibrates the attacks, half is scored: 2,048 scored non-members make a 0.1% FPR mean two false positives.
                NonMembers = 4096,
                Epochs = encoder ? 600 : 500,
                EvalEvery = 50,
                CheckpointEvery = 50,
                QueueSize = 1024,
                MonitorSamples = encoder ? 128 : 256,
            },
            "paper" => encoder
                ? s with
                {
                    Dataset = "cifar10",
                    Members = 10_000,
                    NonMembers = 10_000,
                    Epochs = 1_600,
                    BatchSize = 512,
                    Encoder = new() { Architecture = "resnet18", Width = 64, HeadHidden = 2048, HeadDim = 128 },
                    Augmentation = AugmentationSettings.Standard,
                    LearningRate = 0.01,
                    Temperature = method == "simclr" ? 0.5 : 0.1,
                    EvalEvery = 50,
                    CheckpointEvery = 50,
                    MonitorSamples = 1_000,
                    LinearProbeEpochs = 100,
                }
                : s with
                {
                    Dataset = "cifar10",
                    Members = 10_000,
                    NonMembers = 10_000,
                    Epochs = 100,
                    BatchSize = 128,
                    Encoder = new() { Architecture = "resnet18", Width = 64 },
                    Optimizer = "sgd",
                    LearningRate = 0.05,
                    WeightDecay = 5e-4,
                    MonitorSamples = 1_000,
                },
            _ => throw new LetheException($"unknown preset '{preset}': use {string.Join(", ", Names)}"),
        };
        return encoder ? s : s with { Augmentation = AugmentationSettings.None };
    }
}
