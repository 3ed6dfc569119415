using System.Diagnostics;
using Lethe.Audits;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Storage;
using Lethe.Training;
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

    /// <summary>The unlearning method and its settings: by default the method closest to retraining on the report seeds (docs/targeted-unlearning.md).</summary>
    public UnlearningSettings Unlearning { get; init; } = UnlearningMethods.Defaults(DefaultUnlearning, classifier: false);

    public const string DefaultUnlearning = "targeted";

    public AuditSettings Audit { get; init; } = new();

    /// <summary>The recipe the demo pretrains (and retrains) with.</summary>
    public TrainingSettings Recipe() => TrainingPresets.Get(Preset, Method) with { Seed = Seed };
}

/// <summary>The demo's targets, checked on the head's EncoderMI threshold attack.</summary>
public sealed record DemoTargets(double AucBefore, double ForgetAucAfter, double ForgetAucRetrained, double KnnBefore, double KnnAfter,
    double RetainAucAfter, double RetainAucRetrained)
{
    public bool AucBeforeMet => AucBefore >= 0.75;

    public bool ForgetAucAfterMet => ForgetAucAfter is >= 0.45 and <= 0.55;

    public bool CloseToRetrainedMet => Math.Abs(ForgetAucAfter - ForgetAucRetrained) <= 0.05;

    public bool KnnDropMet => KnnBefore - KnnAfter <= 0.10;

    /// <summary>The retained members keep their signal as retraining keeps it: only the forget set is forgotten.</summary>
    public bool RetainedKeptMet => Math.Abs(RetainAucAfter - RetainAucRetrained) <= 0.05;

    public bool AllMet => AucBeforeMet && ForgetAucAfterMet && CloseToRetrainedMet && KnnDropMet && RetainedKeptMet;
}

/// <summary>
/// Where a report's models came from when they are not the demo's own runs (`lethe report`): a sentence on the model
/// unlearned, one on the retrained reference, and the file that holds the settings.
/// </summary>
public sealed record ReportOrigin(string Model, string Retrained, string SettingsFile);

/// <summary>Everything the demo (or `lethe report`) measured; the report is drawn from it.</summary>
public sealed record DemoResult(
    DemoSettings Settings,
    TrainingSettings Recipe,
    string Dataset,
    int Members,
    int Forget,
    EncoderAuditResult Before,
    EncoderAuditResult After,
    EncoderAuditResult Retrained,
    UnlearningResult Unlearning,
    IReadOnlyList<StageTiming> Timings,
    ReportOrigin? Origin = null)
{
    public DemoTargets Targets => new(
        Before.Report.Head.ForgetEncoderMi.Threshold.Auc,
        After.Report.Head.ForgetEncoderMi.Threshold.Auc,
        Retrained.Report.Head.ForgetEncoderMi.Threshold.Auc,
        Before.Report.KnnAccuracy,
        After.Report.KnnAccuracy,
        After.Report.Head.RetainEncoderMi.Threshold.Auc,
        Retrained.Report.Head.RetainEncoderMi.Threshold.Auc);

    public double Seconds(string stage) => Timings.Where(t => t.Stage == stage).Sum(t => t.Seconds);
}

/// <summary>
/// The end-to-end demo: pretrain an encoder (or reuse the finished run in the folder), audit it, unlearn its forget set
/// (targeted unlearning unless the settings name another method), audit again, train the retrain-from-scratch reference on the retained members (or reuse
/// it), audit it. Training stages resume from their newest checkpoint when a run with the same recipe was stopped.
/// </summary>
public sealed class DemoPipeline(DemoSettings settings, Dataset data, string folder, Device device)
{
    public const string PretrainFolder = "pretrain";
    public const string RetrainFolder = "retrain";
    public const string UnlearnFolder = "unlearn";

    /// <summary>Trains one run (recipe, split, folder, resume); the CLI plugs in a progress display here.</summary>
    public Func<TrainingSettings, MembershipSplit, string, bool, CancellationToken, TrainingResult> Train { get; init; } =
        (recipe, split, runFolder, resume, cancel) => new Trainer(recipe, data, split, runFolder, device).Run(resume, cancel);

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
        if (!recipe.IsEncoder) throw new LetheException($"the demo unlearns an encoder: use one of {string.Join(", ", TrainingMethods.EncoderNames)}");
        var split = MembershipSplit.Create(recipe.Split, data.Name, data.Train.Count, data.Test.Count);

        var pretrainFolder = Path.Combine(folder, PretrainFolder);
        OnStage?.Invoke("pretrain");
        timings.Add(EnsureTrained("pretrain", recipe, split, pretrainFolder, cancel));
        var pretrained = TrainingRun.Open(pretrainFolder, data: data);

        EncoderAuditResult Audit(string stage, string name, Models.Learner model)
        {
            OnStage?.Invoke(stage);
            var watch = Stopwatch.StartNew();
            var result = EncoderAudit.Run(name, (ContrastiveLearner)model, data, split, recipe, settings.Audit, device);
            timings.Add(new StageTiming(stage, watch.Elapsed.TotalSeconds, false));
            return result;
        }

        EncoderAuditResult before;
        using (var original = pretrained.LoadModel(device)) before = Audit("audit original", "original", original);

        OnStage?.Invoke("unlearn");
        var (model, request) = ForgetRequest.Fulfil(pretrained, split, settings.Unlearning, Path.Combine(folder, UnlearnFolder), device, OnUnlearningEpoch, cancel);
        var unlearning = request.Result;
        EncoderAuditResult after;
        using (model)
        {
            if (unlearning.Diverged) throw new LetheException($"unlearning diverged: {unlearning.StopReason}");
            if (cancel.IsCancellationRequested) throw new ExperimentStoppedException("stopped during unlearning; run the demo again (the training runs are kept)");
            timings.Add(new StageTiming("unlearn", unlearning.Seconds, false));
            after = Audit("audit unlearned", "unlearned", model);
        }
        if (cancel.IsCancellationRequested) throw new ExperimentStoppedException("stopped before retraining; run the demo again to continue");

        var retrainFolder = Path.Combine(folder, RetrainFolder);
        OnStage?.Invoke("retrain");
        timings.Add(EnsureTrained("retrain", recipe with { TrainOn = "retain" }, split, retrainFolder, cancel));
        using var retrainedModel = TrainingRun.Open(retrainFolder, data: data).LoadModel(device);
        var retrained = Audit("audit retrained", "retrained", retrainedModel);

        return new DemoResult(settings, recipe, data.Name, split.Members.Length, split.Forget.Length, before, after, retrained, unlearning, timings);
    }

    StageTiming EnsureTrained(string stage, TrainingSettings recipe, MembershipSplit split, string runFolder, CancellationToken cancel) =>
        TrainedRuns.Ensure(stage, recipe, split, runFolder, resume => Train(recipe, split, runFolder, resume, cancel).Completed, "run the demo again");
}
