using System.Diagnostics;
using System.Text.Json.Serialization;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Training;
using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>Settings of an encoder audit; saved with its results.</summary>
public sealed record AuditSettings
{
    /// <summary>Augmented views per image for EncoderMI (EncoderMI uses 10).</summary>
    public int Views { get; init; } = 10;

    /// <summary>Share of the retained members and of the non-members that calibrates the attacks (and is not scored).</summary>
    public double CalibrationFraction { get; init; } = 0.5;

    /// <summary>Unseen test images whose clean outputs are the negatives of the per-sample loss.</summary>
    public int ReferenceSamples { get; init; } = 256;

    /// <summary>Probabilities the model-based supervised attack reads.</summary>
    public int TopK { get; init; } = 10;

    public bool LinearProbe { get; init; } = true;

    public int LinearProbeEpochs { get; init; } = 300;

    /// <summary>Test images that utility (kNN, linear probe, test accuracy) is measured on: the first this many, or 0 for the whole test split.</summary>
    public int TestSamples { get; init; }

    public long Seed { get; init; }

    /// <summary>The test ids utility is measured on.</summary>
    public int[] TestIds(int testCount) => [.. Enumerable.Range(0, TestSamples > 0 ? Math.Min(TestSamples, testCount) : testCount)];

    public void Validate()
    {
        if (Views < 2) throw new LetheException($"EncoderMI needs at least 2 views, not {Views}");
        if (!(CalibrationFraction is > 0 and < 1)) throw new LetheException($"the calibration fraction must lie strictly between 0 and 1, not {CalibrationFraction}");
        if (ReferenceSamples < 1 || TopK < 1) throw new LetheException("reference samples and top-k must be at least 1");
        if (TestSamples < 0) throw new LetheException($"test samples cannot be negative, not {TestSamples}");
    }
}

/// <summary>
/// The ids an audit scores and fits on. Forget, retain and non-member sets are those of the split; with a
/// calibration attacker a seeded share of the retained members and of the non-members is moved out of scoring into
/// calibration, and the same ids are used whatever model is audited, so audits of the original, unlearned and
/// retrained models compare like with like.
/// </summary>
public sealed record AuditGroups(int[] Forget, int[] Retain, int[] NonMembers, int[] CalibrationMembers, int[] CalibrationNonMembers, int[] Reference)
{
    public static AuditGroups From(MembershipSplit split, AuditSettings settings, bool calibrate)
    {
        int[] Shuffled(int[] ids, string purpose)
        {
            var copy = ids.ToArray();
            Seeds.Random(settings.Seed, purpose).Shuffle(copy);
            return copy;
        }

        var retain = Shuffled(split.Retain, "audit/retain");
        var nonMembers = Shuffled(split.NonMembers, "audit/non-members");
        var retainCalibration = calibrate ? (int)(retain.Length * settings.CalibrationFraction) : 0;
        var nonMemberCalibration = calibrate ? (int)(nonMembers.Length * settings.CalibrationFraction) : 0;
        if (calibrate && (retainCalibration < 2 || nonMemberCalibration < 2 || retain.Length - retainCalibration < 1 || nonMembers.Length - nonMemberCalibration < 1))
            throw new LetheException($"too few retained members ({retain.Length}) or non-members ({nonMembers.Length}) to set some aside for calibration and score the rest");
        if (split.Forget.Length == 0) throw new LetheException("the split has no forget set to audit");
        var taken = split.NonMembers.ToHashSet();
        var unseen = Enumerable.Range(0, split.TestCount).Where(i => !taken.Contains(i)).ToArray();
        if (unseen.Length == 0) throw new LetheException("the test split has no images outside the non-members to serve as reference negatives");
        var reference = Shuffled(unseen, "audit/reference").Take(settings.ReferenceSamples).Order().ToArray();
        return new AuditGroups(
            split.Forget,
            [.. retain.Skip(retainCalibration).Order()],
            [.. nonMembers.Skip(nonMemberCalibration).Order()],
            [.. retain.Take(retainCalibration).Order()],
            [.. nonMembers.Take(nonMemberCalibration).Order()],
            reference);
    }
}

/// <summary>Means of the per-sample diagnostics over one group (the paper's TOP1, LOSS and COSSIM columns).</summary>
public sealed record GroupDiagnostics(string Group, int Count, double Top1, double Top3, double Entropy, double Loss, double Similarity)
{
    public static GroupDiagnostics Of(string group, OutputSignals s) => new(
        group, s.Count, s.Prediction.Top1.Average(), s.Prediction.Top3.Average(), s.Prediction.Entropy.Average(), s.Prediction.Loss.Average(), s.Similarity.Average());
}

/// <summary>Every attack on one output, on the forget set and on the retained members, each against the non-members.</summary>
public sealed record OutputAudit(
    string Output,
    EncoderAttackResult ForgetEncoderMi,
    EncoderAttackResult RetainEncoderMi,
    SupervisedAttackResult ForgetSupervised,
    SupervisedAttackResult RetainSupervised,
    IReadOnlyList<GroupDiagnostics> Diagnostics);

/// <summary>What `lethe audit` writes as audit.json.</summary>
public sealed record EncoderAuditReport(
    string Model,
    string Attacker,
    AuditSettings Settings,
    int Forget,
    int Retain,
    int NonMembers,
    int CalibrationMembers,
    int CalibrationNonMembers,
    OutputAudit Head,
    OutputAudit Backbone,
    double KnnAccuracy,
    double? LinearProbeAccuracy,
    double Seconds) : IAuditReport
{
    [JsonIgnore]
    public MembershipScores? Scores { get; init; }

    public OutputAudit Output(string name) => name == "backbone" ? Backbone : Head;

    public AttackMetrics Headline(bool forget) => (forget ? Head.ForgetEncoderMi : Head.RetainEncoderMi).Threshold;

    public IEnumerable<(string Output, string Attack, AttackMetrics Metrics)> Attacks(bool forget) =>
        new[] { Head, Backbone }.SelectMany(o => Reports.AuditMarkdown.Attacks(o, forget).Select(a => (o.Output, a.Attack, a.Metrics)));

    public IReadOnlyList<(string Measure, double Value)> Utility =>
        LinearProbeAccuracy is { } probe ? [("kNN accuracy", KnnAccuracy), ("linear probe", probe)] : [("kNN accuracy", KnnAccuracy)];

    public string Markdown() => Reports.AuditMarkdown.Render(this);
}

/// <summary>An audit's report and the per-sample signals behind it (for plots).</summary>
public sealed record EncoderAuditResult(EncoderAuditReport Report, EncoderSignals Forget, EncoderSignals Retain, EncoderSignals NonMembers)
{
    /// <summary>The scored groups' signals on one output (head or backbone).</summary>
    public (OutputSignals Forget, OutputSignals Retain, OutputSignals NonMembers) Output(string name) =>
        (Forget.Output(name), Retain.Output(name), NonMembers.Output(name));
}

/// <summary>
/// Audits one encoder: EncoderMI (threshold and vector) and the supervised attacks on the backbone and the projection
/// head, per-sample diagnostics, and utility (kNN and linear probe with the retained members as training data, so that
/// original, unlearned and retrained encoders are measured on the same footing).
/// </summary>
public static class EncoderAudit
{
    /// <summary>
    /// Audits <paramref name="model"/>. Without <paramref name="shadow"/>, the attacks are fitted on a calibration
    /// part of the target's retained members and non-members; with it, on the shadow encoder's shadow members and
    /// shadow non-members (EncoderMI's setting), and every retained member and non-member is scored.
    /// </summary>
    public static EncoderAuditResult Run(
        string name, ContrastiveLearner model, Dataset data, MembershipSplit split, TrainingSettings recipe, AuditSettings settings, Device device,
        ContrastiveLearner? shadow = null, Action<string>? onStage = null)
    {
        settings.Validate();
        var watch = Stopwatch.StartNew();
        var groups = AuditGroups.From(split, settings, calibrate: shadow is null);
        var augmentation = new ContrastiveAugmentation(recipe.Augmentation);
        EncoderSignals Signals(ContrastiveLearner m, ImageSet images, int[] ids, string group) => EncoderSignals.Compute(
            m, images, ids, data.Test, groups.Reference, augmentation, settings.Views, settings.TopK, recipe.Temperature,
            Seeds.Derive(settings.Seed, $"audit/views/{group}"), device);

        onStage?.Invoke("membership signals");
        var forget = Signals(model, data.Train, groups.Forget, "forget");
        var retain = Signals(model, data.Train, groups.Retain, "retain");
        var nonMembers = Signals(model, data.Test, groups.NonMembers, "non-members");
        EncoderSignals knownMembers, knownNonMembers;
        if (shadow is null)
        {
            knownMembers = Signals(model, data.Train, groups.CalibrationMembers, "calibration-members");
            knownNonMembers = Signals(model, data.Test, groups.CalibrationNonMembers, "calibration-non-members");
        }
        else
        {
            if (split.ShadowMembers.Length < 2 || split.ShadowNonMembers.Length < 2) throw new LetheException("the split's shadow sets are too small for a shadow attack");
            knownMembers = Signals(shadow, data.Train, split.ShadowMembers, "shadow-members");
            knownNonMembers = Signals(shadow, data.Train, split.ShadowNonMembers, "shadow-non-members");
        }

        onStage?.Invoke("attacks");
        var scores = new List<AttackScores>();
        OutputAudit Attack(string output)
        {
            var km = knownMembers.Output(output);
            var kn = knownNonMembers.Output(output);
            var f = forget.Output(output);
            var r = retain.Output(output);
            var n = nonMembers.Output(output);
            var seed = Seeds.Derive(settings.Seed, $"audit/attack/{output}");
            FittedAttack<OutputSignals>[] fitted =
            [
                .. EncoderMembershipAttack.Fit(km, kn, seed),
                .. SupervisedMembershipAttack.Fit(km.Prediction, kn.Prediction, seed).Select(a => a.On<OutputSignals>(s => s.Prediction)),
            ];
            var attacks = fitted.Select(a => new AttackScores($"{output}/{a.Name}", a.Threshold, a.Score(f), a.Score(r), a.Score(n))).ToArray();
            scores.AddRange(attacks);
            return new OutputAudit(
                output,
                MembershipAttacks.EncoderResult(attacks, forget: true),
                MembershipAttacks.EncoderResult(attacks, forget: false),
                MembershipAttacks.SupervisedResult(attacks, forget: true),
                MembershipAttacks.SupervisedResult(attacks, forget: false),
                [GroupDiagnostics.Of("forget", f), GroupDiagnostics.Of("retain", r), GroupDiagnostics.Of("non-members", n)]);
        }
        var head = Attack("head");
        var backbone = Attack("backbone");

        onStage?.Invoke("utility");
        var (knn, probe) = Utility(model, data, split.Retain, recipe, settings, device);
        var report = new EncoderAuditReport(
            name, shadow is null ? "calibration" : "shadow", settings,
            groups.Forget.Length, groups.Retain.Length, groups.NonMembers.Length, knownMembers.Ids.Length, knownNonMembers.Ids.Length,
            head, backbone, knn, probe, watch.Elapsed.TotalSeconds)
        {
            Scores = MembershipScores.Create(name, groups.Forget, groups.Retain, groups.NonMembers, scores),
        };
        return new EncoderAuditResult(report, forget, retain, nonMembers);
    }

    /// <summary>kNN accuracy (the run's k and temperature) and linear-probe accuracy on the test split (or its first AuditSettings.TestSamples), trained on <paramref name="trainIds"/>.</summary>
    public static (double Knn, double? LinearProbe) Utility(Learner model, Dataset data, IReadOnlyList<int> trainIds, TrainingSettings recipe, AuditSettings settings, Device device)
    {
        using var scope = NewDisposeScope();
        var (bank, bankLabels) = BackboneFeatures.Of(model, data.Train, trainIds, device);
        var (queries, queryLabels) = BackboneFeatures.Of(model, data.Test, settings.TestIds(data.Test.Count), device);
        var knn = KnnClassifier.Accuracy(bank, bankLabels, queries, queryLabels, data.Train.ClassCount, recipe.KnnK, recipe.KnnTemperature);
        double? probe = settings.LinearProbe
            ? Audits.LinearProbe.Accuracy(bank, bankLabels, queries, queryLabels, data.Train.ClassCount, settings.LinearProbeEpochs, seed: settings.Seed)
            : null;
        return (knn, probe);
    }
}

/// <summary>Backbone features of a set of images, in eval mode, with their labels.</summary>
public static class BackboneFeatures
{
    public static (Tensor Features, long[] Labels) Of(Learner model, ImageSet images, IReadOnlyList<int> ids, Device device, int chunk = 256)
    {
        return model.Evaluating(() =>
        {
            using var noGrad = no_grad();
            var parts = new List<Tensor>();
            for (var start = 0; start < ids.Count; start += chunk)
            {
                var batch = ids.Skip(start).Take(chunk).ToArray();
                using var batchImages = images.Batch(batch, device);
                parts.Add(model.Features(batchImages));
            }
            var features = cat(parts, 0);
            foreach (var p in parts) p.Dispose();
            return (features, ids.Select(i => (long)images.Labels[i]).ToArray());
        });
    }
}
