using System.Diagnostics;
using Lethe.Audits;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Storage;
using Lethe.Unlearning;
using static TorchSharp.torch;

namespace Lethe.Experiments;

/// <summary>Settings of `lethe demo`; saved as demo-settings.json next to the report.</summary>
public sealed record DemoSettings
{
    public string Method { get; init; } = "moco";

    /// <summary>Pretraining recipe: overfit (this machine) or tiny (tests).</summary>
    public string Preset { get; init; } = "overfit";

    public long Seed { get; init; }

    public UnlearningSettings Unlearning { get; init; } = new();

    public AuditSettings Audit { get; init; } = new();

    /// <summary>The recipe the demo pretrains (and retrains) with.</summary>
    public PretrainSettings Recipe() => PretrainPresets.Get(Preset, Method) with { Seed = Seed };
}

/// <summary>The targets issue 4 sets for the demo, checked on the head's EncoderMI threshold attack.</summary>
public sealed record DemoTargets(double AucBefore, double ForgetAucAfter, double ForgetAucRetrained, double KnnBefore, double KnnAfter)
{
    public bool AucBeforeMet => AucBefore >= 0.75;

    public bool ForgetAucAfterMet => ForgetAucAfter is >= 0.45 and <= 0.55;

    public bool CloseToRetrainedMet => Math.Abs(ForgetAucAfter - ForgetAucRetrained) <= 0.05;

    public bool KnnDropMet => KnnBefore - KnnAfter <= 0.10;

    public bool AllMet => AucBeforeMet && ForgetAucAfterMet && CloseToRetrainedMet && KnnDropMet;
}

/// <summary>Everything the demo measured; the report is drawn from it.</summary>
public sealed record DemoResult(
    DemoSettings Settings,
    PretrainSettings Recipe,
    string Dataset,
    int Members,
    int Forget,
    EncoderAuditResult Before,
    EncoderAuditResult After,
    EncoderAuditResult Retrained,
    UnlearningResult Unlearning,
    IReadOnlyList<StageTiming> Timings)
{
    public DemoTargets Targets => new(
        Before.Report.Head.ForgetEncoderMi.Threshold.Auc,
        After.Report.Head.ForgetEncoderMi.Threshold.Auc,
        Retrained.Report.Head.ForgetEncoderMi.Threshold.Auc,
        Before.Report.KnnAccuracy,
        After.Report.KnnAccuracy);

    public double Seconds(string stage) => Timings.Where(t => t.Stage == stage).Sum(t => t.Seconds);
}

/// <summary>
/// The end-to-end demo: pretrain an encoder (or reuse the finished run in the folder), audit it, unlearn its forget set
/// with the optimized variant, audit again, train the retrain-from-scratch reference on the retained members (or reuse
/// it), audit it. Training stages resume from their newest checkpoint when a run with the same recipe was stopped.
/// </summary>
public sealed class DemoPipeline(DemoSettings settings, Dataset data, string folder, Device device)
{
    public const string PretrainFolder = "pretrain";
    public const string RetrainFolder = "retrain";
    public const string UnlearnFolder = "unlearn";

    /// <summary>Trains one run (recipe, split, folder, resume); the CLI plugs in a progress display here.</summary>
    public Func<PretrainSettings, MembershipSplit, string, bool, CancellationToken, PretrainResult> Train { get; init; } =
        (recipe, split, runFolder, resume, cancel) => new ContrastiveTrainer(recipe, data, split, runFolder, device).Run(resume, cancel);

    public Action<string>? OnStage { get; init; }

    public Action<UnlearningEpoch>? OnUnlearningEpoch { get; init; }

    public DemoResult Run(CancellationToken cancel = default)
    {
        settings.Unlearning.Validate();
        settings.Audit.Validate();
        var recipe = settings.Recipe();
        recipe.Validate();
        Directory.CreateDirectory(folder);
        var timings = new List<StageTiming>();
        var split = MembershipSplit.Create(
            new SplitSettings { Members = recipe.Members, NonMembers = recipe.NonMembers, ForgetFraction = recipe.ForgetFraction, Seed = recipe.Seed },
            data.Name, data.Train.Count, data.Test.Count);

        var pretrainFolder = Path.Combine(folder, PretrainFolder);
        OnStage?.Invoke("pretrain");
        timings.Add(EnsureTrained("pretrain", recipe, split, pretrainFolder, cancel));
        var pretrained = PretrainRun.Open(pretrainFolder, data: data);

        EncoderAuditResult Audit(string stage, string name, ContrastiveModel model)
        {
            OnStage?.Invoke(stage);
            var watch = Stopwatch.StartNew();
            var result = EncoderAudit.Run(name, model, data, split, recipe, settings.Audit, device);
            timings.Add(new StageTiming(stage, watch.Elapsed.TotalSeconds, false));
            return result;
        }

        var model = pretrained.LoadModel(device);
        var before = Audit("audit original", "original", model);

        OnStage?.Invoke("unlearn");
        var unlearner = new Unlearner(model, settings.Unlearning, recipe.Augmentation, device) { OnEpoch = OnUnlearningEpoch };
        var unlearning = unlearner.Run(data.Train, split.Forget, split.ShadowNonMembers, cancel);
        if (unlearning.Diverged) throw new LetheException($"unlearning diverged: {unlearning.StopReason}");
        if (cancel.IsCancellationRequested) throw new ExperimentStoppedException("stopped during unlearning; run the demo again (the training runs are kept)");
        timings.Add(new StageTiming("unlearn", unlearning.Seconds, false));
        var unlearnFolder = Path.Combine(folder, UnlearnFolder);
        Directory.CreateDirectory(unlearnFolder);
        Checkpoint.Save(Path.Combine(unlearnFolder, "unlearned.ckpt"), model, ContrastiveModels.Architecture(recipe), recipe.Epochs, settings.Unlearning.Seed, settings.Unlearning);
        LetheJson.WriteFile(Path.Combine(unlearnFolder, "unlearning.json"), new { settings = settings.Unlearning, forget = split.Forget.Length, result = unlearning });
        var after = Audit("audit unlearned", "unlearned", model);
        model.Dispose();
        if (cancel.IsCancellationRequested) throw new ExperimentStoppedException("stopped before retraining; run the demo again to continue");

        var retrainFolder = Path.Combine(folder, RetrainFolder);
        OnStage?.Invoke("retrain");
        timings.Add(EnsureTrained("retrain", recipe with { TrainOn = "retain" }, split, retrainFolder, cancel));
        using var retrainedModel = PretrainRun.Open(retrainFolder, data: data).LoadModel(device);
        var retrained = Audit("audit retrained", "retrained", retrainedModel);

        return new DemoResult(settings, recipe, data.Name, split.Members.Length, split.Forget.Length, before, after, retrained, unlearning, timings);
    }

    StageTiming EnsureTrained(string stage, PretrainSettings recipe, MembershipSplit split, string runFolder, CancellationToken cancel) =>
        TrainedRuns.Ensure(stage, recipe, split, runFolder, resume => Train(recipe, split, runFolder, resume, cancel).Completed, "run the demo again");
}
