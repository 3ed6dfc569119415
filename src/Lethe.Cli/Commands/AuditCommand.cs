using System.CommandLine;
using Lethe.Audits;
using Lethe.Contrastive;
using Lethe.Reports;
using Lethe.Runtime;
using Lethe.Storage;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>`lethe audit`: membership-inference attacks, per-sample diagnostics and utility of one encoder checkpoint.</summary>
public static class AuditCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var run = new Option<string>("--run") { Description = "Pretraining run folder whose recipe and split the audit uses", Required = true };
        var checkpoint = new Option<string?>("--checkpoint", "-c") { Description = "Encoder checkpoint to audit (default: RUN/final.ckpt); e.g. an unlearned.ckpt or a retrain's final.ckpt" };
        var forgetIds = new Option<string?>("--forget-ids") { Description = "File of training-split ids forgotten, instead of the split's forget set" };
        var shadow = new Option<string?>("--shadow") { Description = "Shadow run (lethe pretrain --shadow-of RUN) to fit the attacks on, instead of a calibration part of the target's data" };
        var defaults = new AuditSettings();
        var views = new Option<int>("--views") { Description = "Augmented views per image (EncoderMI)", DefaultValueFactory = _ => defaults.Views };
        var calibration = new Option<double>("--calibration") { Description = "Share of retained members and non-members used to fit the attacks", DefaultValueFactory = _ => defaults.CalibrationFraction };
        var noProbe = new Option<bool>("--no-linear-probe") { Description = "Skip the linear probe" };
        var seed = new Option<long>("--seed") { Description = "Seed of the calibration split, views and attack classifiers", DefaultValueFactory = _ => 0 };
        var outFolder = new Option<string?>("--out", "-o") { Description = "Where to write audit.json and audit.md (default: CHECKPOINT's folder/audit)" };
        var dataDir = CommonOptions.DataDir();
        var command = new Command("audit", "Membership-inference audit (EncoderMI and supervised attacks), diagnostics and utility of an encoder")
        {
            run, checkpoint, forgetIds, shadow, views, calibration, noProbe, seed, outFolder, dataDir,
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
            if (Supervised.ClassifierRun.IsClassifierRun(parse.GetValue(run)!))
                return AuditClassifier(console, parse.GetValue(run)!, parse.GetValue(checkpoint), parse.GetValue(forgetIds), parse.GetValue(shadow), parse.GetValue(outFolder), parse.GetValue(dataDir), settings, device);
            var target = PretrainRun.Open(parse.GetValue(run)!, parse.GetValue(dataDir));
            if (parse.GetValue(forgetIds) is { } idsFile)
                target = target with { Split = target.Split.WithForgetFile(idsFile) };
            var checkpointPath = parse.GetValue(checkpoint) ?? target.FinalCheckpoint;
            var model = target.LoadModel(device, checkpointPath);
            ContrastiveModel? shadowModel = null;
            if (parse.GetValue(shadow) is { } shadowFolder)
            {
                var shadowRun = PretrainRun.Open(shadowFolder, data: target.Data);
                CheckShadow(shadowFolder, shadowRun.Settings.TrainOn, shadowRun.Settings with { TrainOn = "members", Seed = 0 }, shadowRun.Split,
                    target.Settings with { TrainOn = "members", Seed = 0 }, target.Split, $"lethe pretrain --shadow-of {target.Folder}");
                shadowModel = shadowRun.LoadModel(device);
            }
            var folder = parse.GetValue(outFolder) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!, "audit");
            var result = EncoderAudit.Run(Path.GetFullPath(checkpointPath), model, target.Data, target.Split, target.Settings, settings, device, shadowModel,
                stage => console.MarkupLineInterpolated($"[grey]audit: {stage}[/]"));
            Directory.CreateDirectory(folder);
            LetheJson.WriteFile(Path.Combine(folder, "audit.json"), result.Report);
            AtomicFile.WriteAllText(Path.Combine(folder, "audit.md"), AuditMarkdown.Render(result.Report));
            Show(console, result.Report);
            console.MarkupLineInterpolated($"Wrote {Path.GetFullPath(Path.Combine(folder, "audit.json"))} and audit.md ({result.Report.Seconds:F1} s).");
            return LetheCli.Ok;
        });
        return command;
    }

    static int AuditClassifier(IAnsiConsole console, string runFolder, string? checkpoint, string? forgetIds, string? shadowFolder, string? outFolder, string? dataDir,
        AuditSettings settings, TorchSharp.torch.Device device)
    {
        var target = Supervised.ClassifierRun.Open(runFolder, dataDir);
        if (forgetIds is { } idsFile)
            target = target with { Split = target.Split.WithForgetFile(idsFile) };
        var checkpointPath = checkpoint ?? target.FinalCheckpoint;
        var model = target.LoadModel(device, checkpointPath);
        Supervised.Classifier? shadowModel = null;
        if (shadowFolder is not null)
        {
            var shadowRun = Supervised.ClassifierRun.Open(shadowFolder, data: target.Data);
            CheckShadow(shadowFolder, shadowRun.Settings.TrainOn, shadowRun.Settings with { TrainOn = "members", Seed = 0 }, shadowRun.Split,
                target.Settings with { TrainOn = "members", Seed = 0 }, target.Split, $"lethe train --shadow-of {target.Folder}");
            shadowModel = shadowRun.LoadModel(device);
        }
        var folder = outFolder ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!, "audit");
        var report = ClassifierAudit.Run(Path.GetFullPath(checkpointPath), model, target.Data, target.Split, settings, device, shadowModel);
        Directory.CreateDirectory(folder);
        LetheJson.WriteFile(Path.Combine(folder, "audit.json"), report);
        AtomicFile.WriteAllText(Path.Combine(folder, "audit.md"), AuditMarkdown.Render(report));
        var table = new Table().Title("supervised membership inference").AddColumns("scored", "attack", "AUC", "accuracy", "TPR at 1% FPR");
        foreach (var (scored, r) in new[] { ("forget", report.ForgetAttacks), ("retain", report.RetainAttacks) })
        {
            foreach (var (attack, m) in new[] { ("confidence", r.Confidence), ("entropy", r.Entropy), ("loss", r.Loss), ("model-based", r.Model) })
                table.AddRow(scored, attack, MarkdownTable.Number(m.Auc), MarkdownTable.Percent(m.Accuracy), MarkdownTable.Percent(m.TprAt1PercentFpr));
        }
        console.Write(table);
        console.MarkupLineInterpolated($"test accuracy {MarkdownTable.Percent(report.TestAccuracy)}. Wrote {Path.GetFullPath(Path.Combine(folder, "audit.json"))} and audit.md ({report.Seconds:F1} s).");
        return LetheCli.Ok;
    }

    /// <summary>
    /// A shadow run must be a shadow (TrainOn = shadow) of the target's recipe, its seed aside, on the same shadow sets.
    /// The callers pass both recipes with TrainOn and Seed set alike.
    /// </summary>
    static void CheckShadow<TSettings>(string shadowFolder, string trainOn, TSettings shadowRecipe, Data.MembershipSplit shadowSplit,
        TSettings targetRecipe, Data.MembershipSplit targetSplit, string howToTrain)
    {
        if (trainOn != "shadow" || LetheJson.Serialize(shadowRecipe) != LetheJson.Serialize(targetRecipe)
            || !shadowSplit.ShadowMembers.SequenceEqual(targetSplit.ShadowMembers) || !shadowSplit.ShadowNonMembers.SequenceEqual(targetSplit.ShadowNonMembers))
            throw new LetheException($"{shadowFolder} is not a shadow run of this run's recipe and split: train one with {howToTrain}");
    }

    static void Show(IAnsiConsole console, EncoderAuditReport report)
    {
        var table = new Table().Title("forget set vs non-members").AddColumns("output", "attack", "AUC", "accuracy", "TPR at 1% FPR");
        foreach (var output in new[] { report.Head, report.Backbone })
        {
            foreach (var (attack, m) in AuditMarkdown.Attacks(output, forget: true))
                table.AddRow(output.Output, attack, MarkdownTable.Number(m.Auc), MarkdownTable.Percent(m.Accuracy), MarkdownTable.Percent(m.TprAt1PercentFpr));
        }
        console.Write(table);
        console.MarkupLineInterpolated($"kNN accuracy {MarkdownTable.Percent(report.KnnAccuracy)}{(report.LinearProbeAccuracy is { } p ? $", linear probe {MarkdownTable.Percent(p)}" : "")}");
    }
}
