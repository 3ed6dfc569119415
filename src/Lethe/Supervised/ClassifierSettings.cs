using Lethe.Data;
using Lethe.Models;

namespace Lethe.Supervised;

/// <summary>Every setting of a supervised training run; saved with the run and overridable from JSON and flags.</summary>
public sealed record ClassifierSettings
{
    public string Dataset { get; init; } = Datasets.DefaultName;

    /// <summary>members (the target), retain (the retrain-from-scratch reference) or shadow (a shadow model for attacks).</summary>
    public string TrainOn { get; init; } = "members";

    public int Members { get; init; } = 1_000;

    public int NonMembers { get; init; } = 1_000;

    public double ForgetFraction { get; init; } = 0.2;

    public EncoderSettings Encoder { get; init; } = new();

    /// <summary>Training augmentation (none by default: a classifier that memorises is what the audits need).</summary>
    public AugmentationSettings Augmentation { get; init; } = AugmentationSettings.None;

    public int Epochs { get; init; } = 100;

    public int BatchSize { get; init; } = 64;

    /// <summary>adam or sgd.</summary>
    public string Optimizer { get; init; } = "adam";

    public double LearningRate { get; init; } = 1e-3;

    public double Momentum { get; init; } = 0.9;

    public double WeightDecay { get; init; }

    /// <summary>Evaluate (test accuracy, confidence-attack monitor) every this many epochs, and at the end.</summary>
    public int EvalEvery { get; init; } = 10;

    public int CheckpointEvery { get; init; } = 10;

    /// <summary>Members and non-members scored by the membership monitor (at most the set sizes).</summary>
    public int MonitorSamples { get; init; } = 1_000;

    public long Seed { get; init; }

    public void Validate()
    {
        if (TrainOn is not ("members" or "retain" or "shadow")) throw new LetheException($"unknown training set '{TrainOn}': use members, retain or shadow");
        if (Optimizer is not ("adam" or "sgd")) throw new LetheException($"unknown optimizer '{Optimizer}': use adam or sgd");
        if (Epochs < 1) throw new LetheException($"epochs must be at least 1, not {Epochs}");
        if (BatchSize < 2) throw new LetheException($"batch size must be at least 2 (batch norm needs pairs), not {BatchSize}");
        if (!(LearningRate > 0)) throw new LetheException($"learning rate must be positive, not {LearningRate}");
        if (EvalEvery < 1 || CheckpointEvery < 1) throw new LetheException("eval and checkpoint intervals must be at least 1 epoch");
        if (MonitorSamples < 1) throw new LetheException("the membership monitor needs at least one sample");
        Encoder.Validate();
        Augmentation.Validate();
    }
}

/// <summary>Named recipes: <c>tiny</c> for tests, <c>overfit</c> for this machine (docs/supervised-overfit.md), <c>paper</c> for the paper's table VII.</summary>
public static class ClassifierPresets
{
    public static IReadOnlyList<string> Names { get; } = ["tiny", "overfit", "paper"];

    public static ClassifierSettings Get(string preset)
    {
        var baseline = new ClassifierSettings();
        return preset switch
        {
            "tiny" => baseline with
            {
                Members = 32,
                NonMembers = 32,
                Epochs = 2,
                BatchSize = 16,
                EvalEvery = 1,
                CheckpointEvery = 1,
                Encoder = new() { Width = 4, FeatureDim = 32 },
                MonitorSamples = 16,
            },
            // Measured on Fashion-MNIST, 2 cores: confidence-attack AUC 0.764 after 500 epochs, about 2 minutes (docs/supervised-overfit.md).
            "overfit" => baseline with { Members = 256, NonMembers = 256, Epochs = 500, EvalEvery = 50, CheckpointEvery = 50, MonitorSamples = 256 },
            "paper" => baseline with
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
                EvalEvery = 10,
            },
            _ => throw new LetheException($"unknown preset '{preset}': use {string.Join(", ", Names)}"),
        };
    }
}
