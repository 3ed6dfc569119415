using Lethe.Models;

namespace Lethe.Unlearning;

/// <summary>Which model kinds an unlearning method works on.</summary>
public enum Applies
{
    Both,
    Encoders,
    Classifiers,
}

/// <summary>
/// One unlearning method as the rest of Lethe sees it: its name (settings, command line, cache keys), its label in
/// reports, a one-line summary for help texts, the model kinds it works on, its factory, and the settings it starts from.
/// </summary>
public sealed record UnlearningMethodInfo(
    string Name, string DisplayName, string Summary, Applies Applies, Func<Learner, UnlearningSettings, UnlearningMethod> Create,
    Func<UnlearningSettings, UnlearningSettings>? EncoderDefaults = null, Func<UnlearningSettings, UnlearningSettings>? ClassifierDefaults = null)
{
    public bool WorksOn(bool classifier) => Applies == Applies.Both || Applies == (classifier ? Applies.Classifiers : Applies.Encoders);
}

/// <summary>
/// The registry of unlearning methods: adding one is its file and one line here. Validation, `lethe unlearn --help`, the
/// reports' labels and the per-method defaults all read this list. The defaults come from sweeps on the overfit presets
/// (docs/baselines.md): a step size that suits an encoder's head wrecks a classifier under ascent or random labels.
/// </summary>
public static class UnlearningMethods
{
    public static IReadOnlyList<UnlearningMethodInfo> All { get; } =
    [
        new("memgp", "MemGP (paper, optimized)", "the paper's optimized variant: L_MEMtrain + the gradient penalty at the forget samples (eq. 3)", Applies.Both,
            (l, s) => new MemGpUnlearning(l, s), ClassifierDefaults: s => s with { LearningRate = 1e-3 }),
        // eq. 2 with all three terms, as the paper runs it
        new("gp", "GP (paper, full)", "the paper's full variant: L_MEMtrain + the penalty at interpolates with non-members + L_Norm (eq. 2)", Applies.Both,
            (l, s) => new FullGradientPenaltyUnlearning(l, s), s => s with { Gamma = 1 }, s => s with { Gamma = 1, LearningRate = 1e-3 }),
        new("targeted", "Targeted (Lethe)", "lowers the attack signal of just the forget samples that still stand out from calibration non-members, retained members and non-members anchored to the original model (docs/targeted-unlearning.md)", Applies.Both,
            (l, s) => new TargetedUnlearning(l, s),
            s => s with { ForgetTerm = ForgetTerm.Score, Alpha = 0, AnchorWeight = 1, AnchorNonMembers = true, PerSampleStop = true, BatchNorm = BatchNormMode.Frozen, BatchSize = 16, LearningRate = 3e-4, Epochs = 20 },
            s => s with { ForgetTerm = ForgetTerm.Penalty, Alpha = 0, AnchorWeight = 1, AnchorNonMembers = true, PerSampleStop = true, BatchNorm = BatchNormMode.Frozen, BatchSize = 16, LearningRate = 3e-4, Epochs = 10 }),
        new("finetune", "fine-tune", "fine-tuning on the retained members", Applies.Both,
            (l, s) => new FineTuneUnlearning(l, s), ClassifierDefaults: s => s with { LearningRate = 2e-3 }),
        new("neggrad", "NegGrad", "gradient ascent on the forget set", Applies.Both,
            (l, s) => new NegGradUnlearning(l, s), ClassifierDefaults: s => s with { LearningRate = 1e-4 }),
        new("neggrad+", "NegGrad+", "descent on the retained members, ascent on the forget set", Applies.Both,
            (l, s) => new NegGradPlusUnlearning(l, s), ClassifierDefaults: s => s with { LearningRate = 1e-4 }),
        new("random-labels", "random labels", "cross-entropy towards a random wrong class (classifiers)", Applies.Classifiers,
            (l, s) => new RandomLabelUnlearning(l, s), ClassifierDefaults: s => s with { LearningRate = 1e-4 }),
        // weight 1 left the forget AUC at 0.61 on MoCo
        new("alignment", "Alignment Calibration", "retain contrastive loss + lowering the forget set's view alignment (encoders)", Applies.Encoders,
            (l, s) => new AlignmentCalibrationUnlearning(l, s), s => s with { AlignmentWeight = 2 }),
    ];

    public static IEnumerable<string> Names => All.Select(m => m.Name);

    public static UnlearningMethodInfo Get(string name) => All.FirstOrDefault(m => m.Name == name)
        ?? throw new LetheException($"unknown unlearning method '{name}': use {string.Join(", ", Names)}");

    public static string DisplayName(string name) => All.FirstOrDefault(m => m.Name == name)?.DisplayName ?? name;

    /// <summary>The settings <paramref name="method"/> starts from on an encoder or a classifier.</summary>
    public static UnlearningSettings Defaults(string method, bool classifier) =>
        TunedDefaults.BuiltIn?.Apply(UntunedDefaults(method, classifier), classifier) ?? UntunedDefaults(method, classifier);

    /// <summary>The defaults set by hand (docs/baselines.md), before `lethe tune`'s learning rate and epochs: what tuning starts from.</summary>
    public static UnlearningSettings UntunedDefaults(string method, bool classifier)
    {
        var info = Get(method);
        var settings = new UnlearningSettings { Method = method };
        return (classifier ? info.ClassifierDefaults : info.EncoderDefaults)?.Invoke(settings) ?? settings;
    }

    /// <summary>The methods of one model kind (the method comparison's rows).</summary>
    public static IEnumerable<string> For(bool classifier) => All.Where(m => m.WorksOn(classifier)).Select(m => m.Name);

    /// <summary>One line per method, for help texts.</summary>
    public static string Help() => string.Join("; ", All.Select(m => $"{m.Name}: {m.Summary}"));
}
