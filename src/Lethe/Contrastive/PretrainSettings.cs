using Lethe.Data;
using Lethe.Models;

namespace Lethe.Contrastive;

/// <summary>Every setting of a contrastive pretraining run; saved with the run and overridable from JSON and flags.</summary>
public sealed record PretrainSettings
{
    /// <summary>simclr, moco or byol.</summary>
    public string Method { get; init; } = "simclr";

    public string Dataset { get; init; } = Datasets.DefaultName;

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

    public void Validate()
    {
        if (Method is not ("simclr" or "moco" or "byol")) throw new LetheException($"unknown method '{Method}': use simclr, moco or byol");
        if (TrainOn is not ("members" or "retain" or "shadow")) throw new LetheException($"unknown training set '{TrainOn}': use members, retain or shadow");
        if (Optimizer is not ("adam" or "sgd")) throw new LetheException($"unknown optimizer '{Optimizer}': use adam or sgd");
        if (Schedule is not ("constant" or "cosine")) throw new LetheException($"unknown schedule '{Schedule}': use constant or cosine");
        if (Epochs < 1) throw new LetheException($"epochs must be at least 1, not {Epochs}");
        if (BatchSize < 2) throw new LetheException($"batch size must be at least 2 (batch norm and negatives need pairs), not {BatchSize}");
        if (!(LearningRate > 0)) throw new LetheException($"learning rate must be positive, not {LearningRate}");
        if (!(Temperature > 0)) throw new LetheException($"temperature must be positive, not {Temperature}");
        if (EvalEvery < 1 || CheckpointEvery < 1) throw new LetheException("eval and checkpoint intervals must be at least 1 epoch");
        if (MonitorViews < 2) throw new LetheException("the membership monitor needs at least 2 views");
        Encoder.Validate();
        Augmentation.Validate();
    }
}

/// <summary>Named recipes: <c>tiny</c> for tests, <c>overfit</c> for this machine (see docs/overfit-preset.md), <c>paper</c> for the paper's protocol.</summary>
public static class PretrainPresets
{
    public static IReadOnlyList<string> Names { get; } = ["tiny", "overfit", "paper"];

    public static PretrainSettings Get(string preset, string method)
    {
        var baseline = new PretrainSettings { Method = method };
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
                Encoder = new() { Width = 4, FeatureDim = 32, HeadHidden = 32, HeadDim = 16 },
                QueueSize = 64,
                KnnK = 10,
                MonitorViews = 3,
                MonitorSamples = 16,
                LinearProbeEpochs = 20,
            },
            "overfit" => Overfit(baseline),
            "paper" => baseline with
            {
                Dataset = "cifar10",
                Members = 10_000,
                NonMembers = 10_000,
                Epochs = 1_600,
                BatchSize = 512,
                Encoder = new() { Architecture = "resnet18", Width = 64, HeadHidden = 2048, HeadDim = 128 },
                Augmentation = AugmentationSettings.Standard,
                Optimizer = "adam",
                LearningRate = 0.01,
                Temperature = method == "simclr" ? 0.5 : 0.1,
                QueueSize = 4096,
                KeyMomentum = 0.99,
                EvalEvery = 50,
                CheckpointEvery = 50,
                MonitorSamples = 1_000,
                LinearProbeEpochs = 100,
            },
            _ => throw new LetheException($"unknown preset '{preset}': use {string.Join(", ", Names)}"),
        };
    }

    // Measured on Fashion-MNIST, 2 cores; docs/overfit-preset.md gives the runs behind these numbers.
    static PretrainSettings Overfit(PretrainSettings s) => s with
    {
        Members = 256,
        NonMembers = 256,
        Epochs = 600,
        BatchSize = 64,
        Encoder = new() { Width = 32, FeatureDim = 256, HeadHidden = 256, HeadDim = 128 },
        Augmentation = AugmentationSettings.Weak,
        Optimizer = "adam",
        LearningRate = 1e-3,
        Temperature = 0.1,
        QueueSize = 1024,
        KeyMomentum = 0.99,
        TauBase = 0.99,
        EvalEvery = 50,
        CheckpointEvery = 50,
        MonitorSamples = 128,
    };
}
