using Lethe.Audits;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Models;
using Lethe.Training;
using Lethe.Unlearning;
using static TorchSharp.torch;

namespace Lethe.Experiments;

/// <summary>
/// The demo's report for any answered forget request on an encoder (`lethe report`): the model the request started from,
/// the model it produced and a reference trained without the forget set, all audited on the request's groups. The
/// models may be Lethe's own runs or imported ones (docs/own-model.md).
/// </summary>
public static class RequestReport
{
    public const string SettingsFile = "report-settings.json";

    /// <summary>
    /// Audits the three models. <paramref name="retrained"/> must be of the same architecture and data, and trained on
    /// exactly the members the request keeps.
    /// </summary>
    public static DemoResult Measure(TrainingRun run, MembershipSplit split, ForgetRequest request, string checkpoint, TrainingRun retrained,
        AuditSettings audit, Device device, Action<string>? onStage = null)
    {
        if (!run.Settings.IsEncoder)
            throw new LetheException($"{run.Folder} holds a classifier: the report compares encoders; `lethe audit --checkpoint` writes a classifier's audit.md");
        if (retrained.Settings.Architecture != run.Settings.Architecture || retrained.Settings.Encoder != run.Settings.Encoder)
            throw new LetheException($"{retrained.Folder} is a {retrained.Settings.Architecture} model of other sizes than {run.Folder}'s {run.Settings.Architecture}: no reference for it");
        var trainedOn = retrained.Split.TrainingIds(retrained.Settings.TrainOn);
        if (retrained.Split.Dataset != split.Dataset || retrained.Split.TrainCount != split.TrainCount || retrained.Split.Fingerprint != split.Fingerprint
            || !trainedOn.Order().SequenceEqual(split.Retain.Order()))
            throw new LetheException(
                $"{retrained.Folder} was not trained on exactly the {split.Retain.Length} members this request keeps ({trainedOn.Count} training samples): " +
                "retrain with lethe pretrain --retrain-of RUN, or import a model trained on them with --members");

        EncoderAuditResult Audit(string name, Learner model)
        {
            onStage?.Invoke($"audit {name}");
            return EncoderAudit.Run(name, (ContrastiveLearner)model, run.Data, split, run.Settings, audit, device);
        }

        EncoderAuditResult before, after, reference;
        using (var original = run.LoadModel(device)) before = Audit("original", original);
        using (var unlearned = run.LoadModel(device, checkpoint)) after = Audit("unlearned", unlearned);
        using (var model = retrained.LoadModel(device)) reference = Audit("retrained", model);

        var settings = new DemoSettings { Method = run.Settings.Method, Preset = "none", Seed = audit.Seed, Unlearning = request.Settings, Audit = audit };
        var origin = new ReportOrigin(Describe(run, "is"), $"The retrained reference {Describe(retrained, "is")}, trained on the {split.Retain.Length} retained members only", SettingsFile);
        return new DemoResult(settings, run.Settings, run.Data.Name, split.Members.Length, split.Forget.Length, before, after, reference, request.Result,
            [new StageTiming("unlearn", request.Result.Seconds, false)], origin);
    }

    /// <summary>Where a run's model came from, after a verb: "is imported from ..." or "is the run in ...".</summary>
    static string Describe(TrainingRun run, string verb) => ImportReport.Find(run.Folder) is { } imported
        ? $"{verb} imported from {Path.GetFileName(imported.Source)} (SHA-256 {imported.SourceSha256[..12]}..., {imported.Layout} layout) into {run.Folder}"
        : $"{verb} the run in {run.Folder} ({run.Settings.Epochs} epochs, seed {run.Settings.Seed})";
}
