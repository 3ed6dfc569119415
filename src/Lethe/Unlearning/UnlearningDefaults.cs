namespace Lethe.Unlearning;

/// <summary>
/// Per-method settings that `lethe reproduce` (and `lethe unlearn` when no flag overrides them) start from. The
/// encoder values come from the MoCo sweeps and the classifier learning rates from the sweeps on the supervised
/// overfit preset (docs/baselines.md): a step size that suits an encoder's head wrecks a classifier under ascent or
/// random labels.
/// </summary>
public static class UnlearningDefaults
{
    public static UnlearningSettings For(string method, bool classifier)
    {
        var settings = new UnlearningSettings { Method = method };
        settings = method switch
        {
            "gp" => settings with { Gamma = 1 },                // eq. 2 with all three terms, as the paper runs it
            "alignment" => settings with { AlignmentWeight = 2 }, // 1 left the forget AUC at 0.61 on MoCo
            _ => settings,
        };
        if (!classifier) return settings;
        return settings with
        {
            LearningRate = method switch
            {
                "memgp" or "gp" => 1e-3,
                "finetune" => 2e-3,
                _ => 1e-4, // neggrad, neggrad+ and random labels
            },
        };
    }
}
