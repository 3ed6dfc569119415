using System.Text.Json.Serialization;
using Lethe.Audits;
using Lethe.Training;
using Lethe.Unlearning;

namespace Lethe.Experiments;

/// <summary>
/// Settings of `lethe reproduce`; saved as reproduce-settings.json next to the tables. The scale picks the recipes:
/// tiny (tests), small (this machine: the overfit presets on Fashion-MNIST) or paper (the paper's protocol).
/// </summary>
public sealed record ReproduceSettings
{
    public static IReadOnlyList<string> Scales { get; } = ["tiny", "small", "paper"];

    /// <summary>The paper's tables II to VII, and the method comparison none of them has.</summary>
    public static IReadOnlyList<string> AllTables { get; } = ["ii", "iii", "iv", "v", "vi", "vii", "methods", "targeted"];

    /// <summary>Table III's encoders, in the paper's order.</summary>
    public static IReadOnlyList<string> ContrastiveMethods { get; } = ["moco", "simclr", "byol"];

    /// <summary>The supervised model's name in cell keys and run folders.</summary>
    public const string ClassifierModel = "classifier";

    /// <summary>The paper forgets 10% to 100% of its members; here 5% to 50%, so that retained members are left to calibrate the attack.</summary>
    public static IReadOnlyList<double> DefaultForgetFractions { get; } = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5];

    public string Scale { get; init; } = "small";

    public IReadOnlyList<string> Tables { get; init; } = AllTables;

    /// <summary>Data sets of tables II and VII; the first one also serves every other table. Null: the scale's default.</summary>
    public IReadOnlyList<string>? Datasets { get; init; }

    /// <summary>
    /// The report seeds: each cell is measured with seeds FirstSeed .. FirstSeed + Seeds - 1, each drawing its own split,
    /// training, unlearning and audit. They must not include a seed the unlearning defaults were tuned on.
    /// </summary>
    public int Seeds { get; init; } = 3;

    public long FirstSeed { get; init; } = 1;

    /// <summary>How many of the report seeds tables III to VI use (the headline tables II, VII and the method tables use all).</summary>
    public int AblationSeeds { get; init; } = 1;

    /// <summary>
    /// The unlearning defaults tuned on other seeds (`lethe tune`); null: the built-in ones when they were tuned at this
    /// scale, else the hand-set defaults. Not saved: <see cref="TunedFrom"/> names its source.
    /// </summary>
    [JsonIgnore]
    public TunedDefaults? Tuned { get; init; }

    /// <summary>The file <see cref="Tuned"/> was read from.</summary>
    public string? TunedPath { get; init; }

    /// <summary>Where the unlearning defaults came from, for the record.</summary>
    public string TunedFrom => EffectiveTuned is null ? "hand-set defaults (not tuned)" : Tuned is not null ? TunedPath ?? "a tuned-defaults file" : "built-in tuned defaults";

    /// <summary>Start from the hand-set defaults even where built-in tuned ones exist (the tuning itself does).</summary>
    [JsonIgnore]
    public bool HandSetDefaults { get; init; }

    /// <summary>The tuned defaults this run uses: the given ones, or the built-in ones when they were tuned at this scale.</summary>
    [JsonIgnore]
    public TunedDefaults? EffectiveTuned => HandSetDefaults ? null : Tuned ?? (TunedDefaults.BuiltIn is { } b && b.Scale == Scale ? b : null);

    /// <summary>The tuning seeds behind the unlearning defaults (empty when the defaults were set by hand).</summary>
    public IReadOnlyList<long> TuningSeeds => EffectiveTuned?.TuningSeeds ?? [];

    public IReadOnlyList<double> ForgetFractions { get; init; } = DefaultForgetFractions;

    /// <summary>SISA's shard count in the method comparison.</summary>
    public int SisaShards { get; init; } = 4;

    /// <summary>The contrastive method of tables II and IV to VI and of the comparison (the paper's MoCo).</summary>
    public string MainMethod { get; init; } = "moco";

    public string Preset => Scale switch { "tiny" => "tiny", "paper" => "paper", _ => "overfit" };

    public IReadOnlyList<string> DatasetNames => Datasets is { Count: > 0 } d ? d : Scale == "paper" ? ["cifar10", "cifar100", "svhn"] : ["fashion-mnist"];

    public string MainDataset => DatasetNames[0];

    public IEnumerable<long> SeedValues => Enumerable.Range(0, Seeds).Select(i => FirstSeed + i);

    /// <summary>The seeds of tables III to VI.</summary>
    public IEnumerable<long> AblationSeedValues => SeedValues.Take(Math.Min(AblationSeeds, Seeds));

    /// <summary>LiRA's reference models per model kind (`--lira K`, docs/lira.md); 0 leaves the LiRA table out.</summary>
    public int Lira { get; init; }

    public bool Runs(string table) => Tables.Contains(table);

    /// <summary>The training recipe of <paramref name="model"/> (an encoder method or the classifier) at this scale.</summary>
    public TrainingSettings Recipe(string model, string dataset, long seed)
    {
        var recipe = TrainingPresets.Get(Preset, model) with { Dataset = dataset, Seed = seed };
        // The tiny preset's 32 members leave SISA shards smaller than a batch once a fifth is deleted.
        return Scale == "tiny" && !recipe.IsEncoder ? recipe with { Members = 128, MonitorSamples = 16 } : recipe;
    }

    public UnlearningSettings Unlearning(string method, bool classifier, long seed)
    {
        var untuned = UnlearningMethods.UntunedDefaults(method, classifier) with { Seed = seed };
        if (Scale == "tiny") untuned = untuned with { Epochs = 2, BatchSize = 8 };
        return EffectiveTuned?.Apply(untuned, classifier) ?? untuned;
    }

    /// <summary>Whether audits train a linear probe (tuning leaves it out: its utility term reads kNN or test accuracy).</summary>
    public bool LinearProbe { get; init; } = true;

    public AuditSettings Audit(long seed) => Scale == "tiny"
        ? new AuditSettings { Views = 3, ReferenceSamples = 16, LinearProbeEpochs = 20, TestSamples = 500, Seed = seed, LinearProbe = LinearProbe }
        : new AuditSettings { Seed = seed, LinearProbe = LinearProbe };

    public void Validate()
    {
        if (!Scales.Contains(Scale)) throw new LetheException($"unknown scale '{Scale}': use {string.Join(", ", Scales)}");
        if (Tables.Count == 0) throw new LetheException("no table to run");
        var unknown = Tables.FirstOrDefault(t => !AllTables.Contains(t));
        if (unknown is not null) throw new LetheException($"unknown table '{unknown}': use {string.Join(", ", AllTables)}");
        if (Seeds < 1) throw new LetheException($"seeds must be at least 1, not {Seeds}");
        if (AblationSeeds < 1) throw new LetheException($"ablation seeds must be at least 1, not {AblationSeeds}");
        EffectiveTuned?.CheckDisjoint(SeedValues, TunedFrom);
        if (ForgetFractions.Any(f => f is <= 0 or >= 1 || double.IsNaN(f))) throw new LetheException("forget fractions must lie between 0 and 1 (exclusive)");
        if (Lira is < 0 or 1 or 2 or 3) throw new LetheException($"LiRA needs at least 4 reference models (8 or more for real figures), not {Lira}; 0 leaves it out");
        if (SisaShards < 1) throw new LetheException($"SISA needs at least one shard, not {SisaShards}");
        if (!ContrastiveMethods.Contains(MainMethod)) throw new LetheException($"unknown contrastive method '{MainMethod}'");
        foreach (var d in DatasetNames) Data.Datasets.Parse(d);
    }
}
