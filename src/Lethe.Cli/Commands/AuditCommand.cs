using System.CommandLine;
using Lethe.Audits;
using Lethe.Data;
using Lethe.Models;
using Lethe.Reports;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using Lethe.Unlearning;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>`lethe audit`: membership-inference attacks, per-sample diagnostics and utility of one checkpoint of any learner.</summary>
public static class AuditCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var run = new Option<string?>("--run") { Description = "Training run whose recipe and split the audit uses (default: the checkpoint's run, or its forget request's)" };
        var checkpoint = new Option<string?>("--checkpoint", "-c")
        {
            Description = "Checkpoint to audit (default: RUN/final.ckpt). An unlearned.ckpt brings its own run and forget set from the unlearning.json beside it",
        };
        var forgetIds = new Option<string?>("--forget-ids") { Description = "File of training-split ids forgotten, instead of the split's (or the forget request's) forget set" };
        var forgetList = CommonOptions.ForgetList();
        var shadow = new Option<string?>("--shadow") { Description = "Shadow run (--shadow-of RUN) to fit the attacks on, instead of a calibration part of the target's data" };
        var defaults = new AuditSettings();
        var views = new Option<int>("--views") { Description = "Augmented views per image (EncoderMI)", DefaultValueFactory = _ => defaults.Views };
        var calibration = new Option<double>("--calibration") { Description = "Share of retained members and non-members used to fit the attacks", DefaultValueFactory = _ => defaults.CalibrationFraction };
        var noProbe = new Option<bool>("--no-linear-probe") { Description = "Skip the linear probe" };
        var seed = new Option<long>("--seed") { Description = "Seed of the calibration split, views and attack classifiers", DefaultValueFactory = _ => 0 };
        var outFolder = new Option<string?>("--out", "-o") { Description = "Where to write audit.json and audit.md (default: CHECKPOINT's folder/audit)" };
        var dataDir = CommonOptions.DataDir();
        var command = new Command("audit", "Membership-inference audit, diagnostics and utility of an encoder or a classifier. Attacks: " + MembershipAttacks.Help())
        {
            run, checkpoint, forgetIds, forgetList, shadow, views, calibration, noProbe, seed, outFolder, dataDir,
        };
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var settings = new AuditSettings
            {
                Views = parse.GetValue(views),
                CalibrationFraction = parse.GetValue(calibration),
                LinearProbe = !parse.GetValue(noProbe),
                Seed = parse.GetValue(seed),
            };
            settings.Validate();
            if (parse.GetValue(shadow) is not null && parse.GetResult(calibration) is { Implicit: false })
                throw new LetheException("--calibration sets aside target data for a calibration attacker; with --shadow the attacks are fitted on the shadow model: drop one");
            var (target, split, checkpointPath) = Resolve(parse.GetValue(run), parse.GetValue(checkpoint), parse.GetValue(dataDir));
            split = CommonOptions.WithForget(split, target.Data, parse.GetValue(forgetList), parse.GetValue(forgetIds));
            using var model = target.LoadModel(device, checkpointPath);
            Learner? shadowModel = null;
            if (parse.GetValue(shadow) is { } shadowFolder)
            {
                var shadowRun = TrainingRun.Open(shadowFolder, data: target.Data);
                CheckShadow(shadowFolder, shadowRun, target);
                shadowModel = shadowRun.LoadModel(device);
            }
            var folder = parse.GetValue(outFolder) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!, "audit");
            var report = Audit.Run(Path.GetFullPath(checkpointPath), model, target.Data, split, settings, device, shadowModel,
                stage => console.MarkupLineInterpolated($"[grey]audit: {stage}[/]"));
            shadowModel?.Dispose();
            Audit.Write(report, folder);
            Show(console, [("", report)]);
            console.MarkupLineInterpolated($"Wrote {Path.GetFullPath(Path.Combine(folder, "audit.json"))}, audit.md and the per-sample audit.scores.csv ({report.Seconds:F1} s).");
            return LetheCli.Ok;
        });
        return command;
    }

    /// <summary>
    /// The run, split and checkpoint an audit is about. A checkpoint with a forget request (unlearning.json) beside it
    /// names its run and forget set; a run's own checkpoint (final.ckpt or checkpoints/epoch-N.ckpt) names its run.
    /// </summary>
    internal static (TrainingRun Run, MembershipSplit Split, string Checkpoint) Resolve(string? runFolder, string? checkpoint, string? dataDir)
    {
        if (checkpoint is null)
        {
            if (runFolder is null) throw new LetheException("give --checkpoint (an unlearned.ckpt or a run's final.ckpt), or --run");
            var own = TrainingRun.Open(runFolder, dataDir);
            return (own, own.Split, own.FinalCheckpoint);
        }
        if (!File.Exists(checkpoint)) throw new LetheException($"no checkpoint at {checkpoint}");
        var folder = Path.GetDirectoryName(Path.GetFullPath(checkpoint))!;
        ForgetRequest? request = null;
        try
        {
            request = ForgetRequest.Find(folder);
        }
        catch (LetheException) when (runFolder is not null)
        {
            // An older unlearning.json: --run says which run the checkpoint belongs to.
        }
        if (request is not null && Path.GetFileName(checkpoint) == request.Checkpoint)
        {
            if (Checkpoint.FileSha256(checkpoint) != request.CheckpointSha256)
                throw new LetheException($"{checkpoint} is not the checkpoint its {ForgetRequest.FileName} records (the SHA-256 differs): it was changed after unlearning");
            var parent = TrainingRun.Open(runFolder ?? request.ParentRun, dataDir);
            if (File.Exists(parent.FinalCheckpoint) && Checkpoint.FileSha256(parent.FinalCheckpoint) != request.ParentCheckpointSha256)
                throw new LetheException($"{parent.Folder} no longer holds the model {checkpoint} was unlearned from (its final.ckpt changed): its split may have changed too");
            return (parent, request.Apply(parent.Split), checkpoint);
        }
        var owner = runFolder ?? new[] { folder, Path.GetDirectoryName(folder) }.FirstOrDefault(f => f is not null && File.Exists(Path.Combine(f, RunFolder.SettingsFile)))
            ?? throw new LetheException($"cannot tell which run {checkpoint} belongs to (no {ForgetRequest.FileName} or {RunFolder.SettingsFile} beside it): give --run");
        var run = TrainingRun.Open(owner, dataDir);
        return (run, run.Split, checkpoint);
    }

    /// <summary>A shadow run must be a shadow (TrainOn = shadow) of the target's recipe, its seed aside, on the same shadow sets.</summary>
    static void CheckShadow(string shadowFolder, TrainingRun shadow, TrainingRun target)
    {
        static string Recipe(TrainingSettings s) => LetheJson.Serialize(s with { TrainOn = "members", Seed = 0 });
        if (shadow.Settings.TrainOn != "shadow" || Recipe(shadow.Settings) != Recipe(target.Settings)
            || !shadow.Split.ShadowMembers.SequenceEqual(target.Split.ShadowMembers) || !shadow.Split.ShadowNonMembers.SequenceEqual(target.Split.ShadowNonMembers))
            throw new LetheException($"{shadowFolder} is not a shadow run of this run's recipe and split: train one with lethe {(target.Settings.IsEncoder ? "pretrain" : "train")} --shadow-of {target.Folder}");
    }

    /// <summary>
    /// Every attack's AUC, accuracy and TPR at 1% FPR on the forget set, one column group per report (e.g. before and
    /// after unlearning), then the headline attack on the retained members and utility.
    /// </summary>
    internal static void Show(IAnsiConsole console, IReadOnlyList<(string Label, IAuditReport Report)> reports)
    {
        var kind = reports[0].Report is ClassifierAuditReport ? "supervised membership inference" : "membership inference";
        var table = new Table().Title($"{kind}: forget vs non-members").AddColumns("output", "attack");
        foreach (var (label, _) in reports)
            table.AddColumns($"AUC {label}".Trim(), $"accuracy {label}".Trim(), $"TPR at 1% FPR {label}".Trim());
        var rows = reports.Select(r => r.Report.Attacks(forget: true).ToArray()).ToArray();
        for (var i = 0; i < rows[0].Length; i++)
        {
            var (output, attack, _) = rows[0][i];
            table.AddRow([output, attack, .. rows.SelectMany(r => new[] { MarkdownTable.Number(r[i].Metrics.Auc), MarkdownTable.Percent(r[i].Metrics.Accuracy), MarkdownTable.Percent(r[i].Metrics.TprAt1PercentFpr) })]);
        }
        console.Write(table);
        var summary = new Table().AddColumns(["", .. reports.Select(r => r.Label == "" ? "value" : r.Label)]);
        summary.AddRow(["retained members vs non-members: headline AUC", .. reports.Select(r => MarkdownTable.Number(r.Report.Headline(forget: false).Auc))]);
        foreach (var (measure, _) in reports[0].Report.Utility)
            summary.AddRow([measure, .. reports.Select(r => r.Report.Utility.FirstOrDefault(u => u.Measure == measure) is { Measure: not null } u ? MarkdownTable.Percent(u.Value) : "–")]);
        console.Write(summary);
    }
}
