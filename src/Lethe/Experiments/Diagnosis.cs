using System.Diagnostics;
using Lethe.Audits;
using Lethe.Losses;
using Lethe.Models;
using Lethe.Unlearning;
using static TorchSharp.torch;

namespace Lethe.Experiments;

/// <summary>One variant of the diagnosis: a label for its cell, what it changes, and its settings.</summary>
public sealed record DiagnosisVariant(string Label, string Change, UnlearningSettings Settings);

/// <summary>
/// One variant measured on one tuning seed against that seed's retrained model, with the mean gradient norm
/// ||d sum(D(x)) / dx|| (what the penalty drives to 1) on each group as a multiple of the original model's.
/// </summary>
public sealed record DiagnosisRow(
    string Kind, string Label, string Change, long Seed, double ForgetAuc, double RetainAuc, double CalibratedKsForget, double CalibratedKsRetain,
    double UtilityGap, double Distance, double? Seconds, string? Note, double ForgetNorm, double RetainNorm, double NonMemberNorm);

/// <summary>What the diagnosis measured, and the retrained models' own figures for the same columns.</summary>
public sealed record DiagnosisResult(IReadOnlyList<DiagnosisRow> Rows, IReadOnlyList<DiagnosisRow> Retrained, double Seconds);

/// <summary>
/// `lethe tune --diagnose` (docs/targeted-unlearning.md): where MemGP's loss of the retained members' signal comes from,
/// and what each part of the targeted method adds. Every variant is one cached cell on the tuning seeds only, judged
/// against retraining as the tuning judges; nothing here is measured on a report seed.
/// </summary>
public sealed class Diagnosis(TuningSettings settings, string folder, Device device, ReproduceHooks? hooks = null)
{
    /// <summary>The variants for one model kind: MemGP at its tuned step with batch norm and step count changed, then the targeted method with each part removed or varied.</summary>
    public static IReadOnlyList<DiagnosisVariant> Variants(bool classifier, long seed)
    {
        var memgp = UnlearningMethods.Defaults("memgp", classifier) with { Seed = seed };
        var targeted = UnlearningMethods.Defaults("targeted", classifier) with { Seed = seed };
        var otherTerm = targeted.ForgetTerm == ForgetTerm.Score ? ForgetTerm.Penalty : ForgetTerm.Score;
        return
        [
            new("memgp", $"MemGP as tuned (Adam at {memgp.LearningRate:G3}, {memgp.Epochs} epochs, batches of {memgp.BatchSize}, batch norm in training mode)", memgp),
            new("memgp-bn-frozen", "batch norm frozen (evaluation mode) throughout", memgp with { BatchNorm = BatchNormMode.Frozen }),
            new("memgp-bn-recalibrated", "batch norm statistics re-estimated on the retained members afterwards", memgp with { BatchNorm = BatchNormMode.Recalibrate }),
            new("memgp-e1", "one epoch", memgp with { Epochs = 1 }),
            new("memgp-e2", "two epochs", memgp with { Epochs = 2 }),
            new("memgp-lr-quarter", "a quarter of the tuned step", memgp with { LearningRate = memgp.LearningRate / 4 }),
            new("memgp-sgd", "plain gradient descent at 1e-3 instead of Adam", memgp with { Optimizer = UnlearningOptimizer.Sgd, LearningRate = 1e-3 }),
            new("memgp-anchor", "plus the anchor on retained members and non-members (weight 1)", memgp with { Method = "targeted", AnchorWeight = 1, AnchorNonMembers = true }),
            new("targeted", $"targeted as shipped ({targeted.ForgetTerm.ToString().ToLowerInvariant()} term, Adam at {targeted.LearningRate:G3}, at most {targeted.Epochs} epochs, batches of {targeted.BatchSize})", targeted),
            new("targeted-no-anchor", "without the anchor", targeted with { AnchorWeight = 0 }),
            new("targeted-retain-anchor", "the anchor on retained members only", targeted with { AnchorNonMembers = false }),
            new("targeted-anchor3", "anchor weight 3", targeted with { AnchorWeight = 3 }),
            new("targeted-no-stop", "without per-sample stopping: every forget sample in the term every epoch", targeted with { PerSampleStop = false }),
            new("targeted-bn-train", "batch norm in training mode", targeted with { BatchNorm = BatchNormMode.Train }),
            new("targeted-other-term", $"the {otherTerm.ToString().ToLowerInvariant()} as the forget term", targeted with { ForgetTerm = otherTerm }),
            new("targeted-batch64", "batches of 64 (one step an epoch)", targeted with { BatchSize = 64 }),
            new("targeted-sgd", "plain gradient descent at 0.1 instead of Adam", targeted with { Optimizer = UnlearningOptimizer.Sgd, LearningRate = 0.1 }),
            new("targeted-paper-step", "the paper's step: Adam at 2e-3, batches of 64, 10 epochs", targeted with { LearningRate = 2e-3, BatchSize = 64, Epochs = 10 }),
        ];
    }

    public DiagnosisResult Run(CancellationToken cancel = default)
    {
        settings.Validate();
        var reproduce = settings.Reproduce;
        var watch = Stopwatch.StartNew();
        var scenarios = new Scenarios(reproduce, folder, device, new CellCache(folder), hooks ?? ReproduceHooks.Quiet(device), cancel);
        var dataset = reproduce.MainDataset;
        var rows = new List<DiagnosisRow>();
        var retrainedRows = new List<DiagnosisRow>();
        foreach (var (model, classifier) in new[] { (settings.EncoderMethod, false), (ReproduceSettings.ClassifierModel, true) })
        {
            var kind = TunedDefaults.Kind(classifier);
            foreach (var seed in settings.SeedValues)
            {
                var retrained = scenarios.Retrained(model, dataset, seed);
                var original = scenarios.Original(model, dataset, seed);
                var baseNorms = Norms(scenarios, model, dataset, seed, "original");
                DiagnosisRow Row(string label, string change, Measurement m, (double F, double R, double N) norms)
                {
                    var versus = TableFormat.Versus(m, retrained);
                    var attack = RetrainingComparison.DefaultVerdictAttacks(TableFormat.Scores(m))[0];
                    return new DiagnosisRow(kind, label, change, seed, m.Forget.Auc, m.RetainAuc, versus[attack].CalibratedForget.Statistic, versus[attack].CalibratedRetain.Statistic,
                        m.Utility - retrained.Utility, Tuning.Distance(versus, m.Utility, retrained.Utility), m.Seconds, m.Note,
                        norms.F / baseNorms.Forget, norms.R / baseNorms.Retain, norms.N / baseNorms.NonMembers);
                }
                retrainedRows.Add(Row("retrained", "retrained without the forget set", retrained, Norms(scenarios, model, dataset, seed, "retrained")));
                rows.Add(Row("original", "nothing unlearned", original, baseNorms));
                foreach (var v in Variants(classifier, seed))
                {
                    var m = scenarios.Unlearned(model, dataset, seed, v.Settings, variant: "diag-" + v.Label);
                    rows.Add(Row(v.Label, v.Change, m, Norms(scenarios, model, dataset, seed, new CellKey(seed, dataset, model, Scenarios.BaseFraction, v.Settings.Method, "diag-" + v.Label).Label)));
                }
                // Continual deletion (docs/targeted-unlearning.md): the forget set in three requests, each anchored to the model the previous one
                // left or to the model before the first, with and without re-checking the earlier requests' samples.
                var targeted = UnlearningMethods.Defaults("targeted", classifier) with { Seed = seed };
                foreach (var (recheck, firstAnchor) in new[] { (false, false), (true, false), (false, true), (true, true) })
                {
                    var m = scenarios.Continual(model, dataset, seed, targeted, 3, recheck, firstAnchor);
                    var label = "targeted-" + Scenarios.ContinualVariant(3, recheck, firstAnchor);
                    var change = "3 requests in a row" + (recheck ? ", each re-checking the earlier requests' samples" : "") +
                        (firstAnchor ? ", anchored to the model before the first request" : ", each anchored to the model the previous one left");
                    rows.Add(Row(label, change, m, Norms(scenarios, model, dataset, seed, label)));
                }
            }
        }
        return new DiagnosisResult(rows, retrainedRows, watch.Elapsed.TotalSeconds);
    }

    /// <summary>Mean gradient norm of D on the forget set, the retained members and the calibration non-members.</summary>
    (double Forget, double Retain, double NonMembers) Norms(Scenarios scenarios, string model, string dataset, long seed, string label)
    {
        var (learner, data, split) = scenarios.Load(model, dataset, seed, label);
        using (learner)
        {
            return learner.Evaluating(() =>
            {
                double Mean(IReadOnlyList<int> ids)
                {
                    using var scope = NewDisposeScope();
                    return GradientPenalty.Norms(x => learner.Output(x), data.Train.Batch([.. ids], device)).mean().item<float>();
                }
                return (Mean(split.Forget), Mean(split.Retain), Mean(split.ShadowNonMembers.Take(256).ToArray()));
            });
        }
    }
}
