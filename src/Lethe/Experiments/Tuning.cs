using System.Diagnostics;
using System.Globalization;
using Lethe.Audits;
using Lethe.Unlearning;

namespace Lethe.Experiments;

/// <summary>Settings of `lethe tune`: the tuning seeds and the grid each method's step size and epochs are chosen from.</summary>
public sealed record TuningSettings
{
    /// <summary>The scale's recipes (as in `lethe reproduce`).</summary>
    public string Scale { get; init; } = "small";

    public string? Dataset { get; init; }

    /// <summary>Tuning seeds: FirstSeed .. FirstSeed + Seeds - 1. Keep them apart from the seeds that will be reported.</summary>
    public long FirstSeed { get; init; } = 100;

    public int Seeds { get; init; } = 1;

    /// <summary>Multiples of each method's hand-set learning rate to try.</summary>
    public IReadOnlyList<double> LearningRateFactors { get; init; } = [0.5, 1, 2, 4];

    /// <summary>Unlearning epochs to try.</summary>
    public IReadOnlyList<int> Epochs { get; init; } = [5, 10, 20];

    public string EncoderMethod { get; init; } = "moco";

    public IEnumerable<long> SeedValues => Enumerable.Range(0, Seeds).Select(i => FirstSeed + i);

    public void Validate()
    {
        if (Seeds < 1) throw new LetheException($"tuning needs at least one seed, not {Seeds}");
        if (LearningRateFactors.Count == 0 || LearningRateFactors.Any(f => !(f > 0))) throw new LetheException("learning-rate factors must be positive");
        if (Epochs.Count == 0 || Epochs.Any(e => e < 1)) throw new LetheException("tuning epochs must be at least 1");
    }

    /// <summary>The reproduce settings whose recipes, splits and audits the tuning shares (no linear probe; the hand-set defaults, never earlier tuned ones).</summary>
    public ReproduceSettings Reproduce => new()
    {
        Scale = Scale,
        Datasets = Dataset is null ? null : [Dataset],
        FirstSeed = FirstSeed,
        Seeds = Seeds,
        MainMethod = EncoderMethod,
        LinearProbe = false,
        HandSetDefaults = true,
    };
}

/// <summary>One candidate of the tuning grid and its distance to the retrained model, averaged over the tuning seeds.</summary>
public sealed record TuningCandidate(string Kind, string Method, double LearningRate, int Epochs, double Distance, double[] PerSeed);

/// <summary>
/// What `lethe tune` chose, every candidate it weighed, and per model kind the distance of the original model itself
/// (method "original", nothing unlearned): a method farther from retraining than that did worse than doing nothing.
/// </summary>
public sealed record TuningResult(TunedDefaults Tuned, IReadOnlyList<TuningCandidate> Candidates, double Seconds)
{
    public IReadOnlyList<TuningCandidate> NothingUnlearned { get; init; } = [];
}

/// <summary>
/// The tuning stage (docs/tuning.md): for every unlearning method and model kind, tries a grid of learning rates and
/// epochs on the tuning seeds only and keeps the candidate whose unlearned model is closest to the retrained model by
/// <see cref="Distance"/>. The cells (and the training runs they need) are cached like reproduce's, in the same
/// folder layout, so an interrupted tuning continues where it stopped.
/// </summary>
public sealed class Tuning(TuningSettings settings, string folder, TorchSharp.torch.Device device, ReproduceHooks? hooks = null)
{
    public const string Criterion =
        "(calibrated KS forget + calibrated KS retained + |retained-over-forgotten AUC - the retrained model's|, each averaged over the verdict attacks, " +
        "+ |utility - the retrained model's|) / 4, averaged over the tuning seeds";

    /// <summary>
    /// The tuning criterion on one seed: 0 for the retrained model itself, at most 1. Utility (kNN or test accuracy,
    /// as a fraction) is a term of its own: a method can flatten every member's signal, which the membership terms
    /// see, and still wreck the model.
    /// </summary>
    public static double Distance(RetrainingComparison c, double utility, double retrainedUtility) =>
        (c.Attacks.Where(a => c.VerdictAttacks.Contains(a.Attack))
            .Average(a => a.CalibratedForget.Statistic + a.CalibratedRetain.Statistic + Math.Abs(a.RetainedOverForgotten.Auc - a.RetrainedRetainedOverForgotten.Auc))
         + Math.Abs(utility - retrainedUtility)) / 4;

    static double Distance(Measurement m, Measurement retrained) => Distance(TableFormat.Versus(m, retrained), m.Utility, retrained.Utility);

    /// <summary>
    /// Measures the grid (reading what is cached) and chooses. With <paramref name="assemble"/>, measures nothing: every
    /// cell must be cached already (after `tune --shard` runs), else a one-line error names what is not.
    /// </summary>
    public TuningResult Run(CancellationToken cancel = default, bool assemble = false)
    {
        settings.Validate();
        var watch = Stopwatch.StartNew();
        if (assemble) Plan(cancel).RequireDone(folder, "tune");
        var locks = Locks(cancel);
        return Choose(new Scenarios(settings.Reproduce, folder, device, new CellCache(folder, locks), Hooks, cancel, locks: locks), watch);
    }

    /// <summary>Every cell the grid needs, in order, whether cached or not (nothing is measured).</summary>
    public WorkPlan Plan(CancellationToken cancel = default)
    {
        settings.Validate();
        var plan = new WorkPlan();
        var locks = Locks(cancel);
        Choose(new Scenarios(settings.Reproduce, folder, device, new CellCache(folder, locks), Hooks, cancel, plan, locks), Stopwatch.StartNew());
        return plan;
    }

    /// <summary>Measures part <paramref name="index"/> of <paramref name="count"/> of the grid's cells into the shared folder, choosing nothing.</summary>
    public ShardResult RunShard(int index, int count, CancellationToken cancel = default)
    {
        var watch = Stopwatch.StartNew();
        return Plan(cancel).MeasurePart(index, count, Locks(cancel), Hooks.OnStage, watch);
    }

    ReproduceHooks Hooks => hooks ?? ReproduceHooks.Quiet(device);

    WorkLocks Locks(CancellationToken cancel) => new(Hooks.OnStage, cancel);

    TuningResult Choose(Scenarios scenarios, Stopwatch watch)
    {
        var reproduce = settings.Reproduce;
        var dataset = reproduce.MainDataset;
        var candidates = new List<TuningCandidate>();
        var chosen = new List<TunedMethod>();
        var nothing = new List<TuningCandidate>();
        foreach (var (model, classifier) in new[] { (settings.EncoderMethod, false), (ReproduceSettings.ClassifierModel, true) })
        {
            var retrained = settings.SeedValues.ToDictionary(seed => seed, seed => scenarios.Retrained(model, dataset, seed));
            var original = settings.SeedValues.Select(seed => Distance(scenarios.Original(model, dataset, seed), retrained[seed])).ToArray();
            nothing.Add(new TuningCandidate(TunedDefaults.Kind(classifier), "original", 0, 0, original.Average(), original));
            foreach (var method in UnlearningMethods.For(classifier))
            {
                var baseline = UnlearningMethods.UntunedDefaults(method, classifier);
                var tried = new List<TuningCandidate>();
                foreach (var factor in settings.LearningRateFactors)
                {
                    foreach (var epochs in settings.Epochs)
                    {
                        var lr = baseline.LearningRate * factor;
                        var perSeed = settings.SeedValues.Select(seed =>
                        {
                            var unlearning = reproduce.Unlearning(method, classifier, seed) with { LearningRate = lr, Epochs = epochs };
                            var m = scenarios.Unlearned(model, dataset, seed, unlearning, variant: Variant(lr, epochs));
                            return Distance(m, retrained[seed]);
                        }).ToArray();
                        tried.Add(new TuningCandidate(TunedDefaults.Kind(classifier), method, lr, epochs, perSeed.Average(), perSeed));
                    }
                }
                candidates.AddRange(tried);
                // Ties go to the fewer epochs, then the smaller step: the cheaper, gentler candidate.
                var best = tried.OrderBy(c => c.Distance).ThenBy(c => c.Epochs).ThenBy(c => c.LearningRate).First();
                chosen.Add(new TunedMethod(best.Kind, method, best.LearningRate, best.Epochs, best.Distance, tried.Count));
            }
        }
        var tuned = new TunedDefaults
        {
            Scale = settings.Scale,
            Dataset = dataset,
            EncoderMethod = settings.EncoderMethod,
            TuningSeeds = [.. settings.SeedValues],
            Criterion = Criterion,
            Methods = chosen,
        };
        return new TuningResult(tuned, candidates, watch.Elapsed.TotalSeconds) { NothingUnlearned = nothing };
    }

    /// <summary>The cell variant of one grid point, e.g. lr0.002-e10.</summary>
    public static string Variant(double learningRate, int epochs) => $"lr{learningRate.ToString("G4", CultureInfo.InvariantCulture)}-e{epochs}";
}
