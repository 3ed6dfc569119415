using System.Text.Json.Serialization;

namespace Lethe.Unlearning;

/// <summary>What lowers a forgotten sample's membership signal in targeted unlearning.</summary>
public enum ForgetTerm
{
    /// <summary>The paper's gradient penalty at the sample.</summary>
    Penalty,

    /// <summary>The attack's own score of the sample: an encoder's view agreement, a classifier's log-probability of the true label.</summary>
    Score,
}

/// <summary>The optimizer of an unlearning run.</summary>
public enum UnlearningOptimizer
{
    /// <summary>Adam, as the paper's code: each weight moves by about the step size whatever its gradient.</summary>
    Adam,

    /// <summary>Plain gradient descent: each weight moves in proportion to its gradient.</summary>
    Sgd,
}

/// <summary>What batch norm does while a model is unlearned (docs/targeted-unlearning.md measures each).</summary>
public enum BatchNormMode
{
    /// <summary>Training mode: every step normalises with its batch's statistics and moves the running statistics toward them.</summary>
    Train,

    /// <summary>Evaluation mode throughout: steps normalise with the original running statistics, which stay fixed.</summary>
    Frozen,

    /// <summary>Training mode, then the running statistics are estimated afresh on the retained members.</summary>
    Recalibrate,
}

/// <summary>
/// Settings of a gradient-penalty unlearning run. <see cref="Alpha"/>, <see cref="Beta"/> and <see cref="Gamma"/>
/// weigh L_MEMtrain, the penalty and L_Norm; a zero weight switches its term off, so the paper's ablations
/// (tables IV and V) are runs of the same code.
/// </summary>
public sealed record UnlearningSettings
{
    /// <summary>
    /// A registered method (<see cref="UnlearningMethods"/>): memgp (the optimized variant, eq. 3), gp (the full variant,
    /// eq. 2), or a baseline.
    /// </summary>
    public string Method { get; init; } = "memgp";

    public double Alpha { get; init; } = 1;

    public double Beta { get; init; } = 1;

    /// <summary>Weight of L_Norm (full variant only).</summary>
    public double Gamma { get; init; }

    public int Epochs { get; init; } = 10;

    public int BatchSize { get; init; } = 64;

    /// <summary>Adam step size; 2e-3 is what the sweep in docs/gradient-penalty.md found on the overfit preset.</summary>
    public double LearningRate { get; init; } = 2e-3;

    /// <summary>NegGrad+: weight of the ascent term on the forget set (the retain term has weight 1).</summary>
    public double AscentWeight { get; init; } = 1;

    /// <summary>Alignment Calibration: weight of the forget set's view alignment (MUC uses 0.8 to 2.0).</summary>
    public double AlignmentWeight { get; init; } = 1;

    /// <summary>Which output is D: head (backbone then projection head, the default) or backbone.</summary>
    public string Output { get; init; } = "head";

    /// <summary>Stop once an epoch's mean penalty falls below this (0 turns the rule off).</summary>
    public double StopBelow { get; init; } = 1e-3;

    /// <summary>Stop once the epoch's mean penalty has not fallen by 1% for this many epochs (0 turns the rule off).</summary>
    public int Patience { get; init; } = 3;

    public long Seed { get; init; }

    // The settings below are left out of the JSON at their defaults, so that cells cached before they existed keep their signatures.

    /// <summary>The optimizer (default Adam, as the paper's code).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public UnlearningOptimizer Optimizer { get; init; }

    /// <summary>Batch norm during unlearning (default: training mode, as the paper's code runs it).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public BatchNormMode BatchNorm { get; init; }

    /// <summary>Targeted: weight of the anchor that holds the retained members' (and non-members') outputs at the original model's.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double AnchorWeight { get; init; }

    /// <summary>Targeted: also anchor the non-members' outputs (not those the per-sample stop calibrates on).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool AnchorNonMembers { get; init; }

    /// <summary>Targeted: what lowers the forgotten samples' signal, with weight beta.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ForgetTerm ForgetTerm { get; init; }

    /// <summary>
    /// Targeted: leave out of the penalty each forgotten sample whose attack score already sits at or below its
    /// quantile of the calibration non-members' scores, and stop once none is left (false: penalise every sample).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool PerSampleStop { get; init; }

    public void Validate()
    {
        UnlearningMethods.Get(Method);
        if (Output is not ("head" or "backbone")) throw new LetheException($"unknown output '{Output}': use head or backbone");
        if (Alpha < 0 || Beta < 0 || Gamma < 0 || AscentWeight < 0 || AlignmentWeight < 0 || AnchorWeight < 0) throw new LetheException("loss weights cannot be negative");
        if (Method is "memgp" or "gp" && Alpha == 0 && Beta == 0 && Gamma == 0) throw new LetheException("every loss term is switched off: nothing to train");
        if (Method == "targeted" && Alpha == 0 && Beta == 0 && AnchorWeight == 0) throw new LetheException("every loss term is switched off: nothing to train");
        if (Method == "memgp" && Gamma != 0) throw new LetheException("the optimized variant (memgp) has no L_Norm term: set gamma to 0 or use gp");
        if (Epochs < 1 || BatchSize < 1) throw new LetheException("epochs and batch size must be at least 1");
        if (!(LearningRate > 0)) throw new LetheException($"learning rate must be positive, not {LearningRate}");
    }
}
