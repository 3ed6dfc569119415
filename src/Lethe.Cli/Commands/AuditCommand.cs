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
            var target = PretrainRun.Open(parse.GetValue(run)!, parse.GetValue(dataDir));
            if (parse.GetValue(forgetIds) is { } idsFile)
                target = target with { Split = target.Split.WithForget(Data.ForgetSet.Load(idsFile, target.Split.TrainCount, target.Split.Members), idsFile) };
            var settings = new AuditSettings
            {
                Views = parse.GetValue(views),
                CalibrationFraction = parse.GetValue(calibration),
                LinearProbe = !parse.GetValue(noProbe),
                Seed = parse.GetValue(seed),
            };
            settings.Validate();
            var checkpointPath = parse.GetValue(checkpoint) ?? target.FinalCheckpoint;
            var model = target.LoadModel(device, checkpointPath);
            ContrastiveModel? shadowModel = null;
            if (parse.GetValue(shadow) is { } shadowFolder)
            {
                if (parse.GetResult(calibration) is { Implicit: false })
                    throw new LetheException("--calibration sets aside target data for a calibration attacker; with --shadow the attacks are fitted on the shadow encoder: drop one");
                var shadowRun = PretrainRun.Open(shadowFolder, data: target.Data);
                var sameRecipe = LetheJson.Serialize(shadowRun.Settings with { TrainOn = "members", Seed = 0 }) == LetheJson.Serialize(target.Settings with { TrainOn = "members", Seed = 0 });
                if (shadowRun.Settings.TrainOn != "shadow" || !sameRecipe
                    || !shadowRun.Split.ShadowMembers.SequenceEqual(target.Split.ShadowMembers) || !shadowRun.Split.ShadowNonMembers.SequenceEqual(target.Split.ShadowNonMembers))
                    throw new LetheException($"{shadowFolder} is not a shadow run of this run's recipe and split: train one with lethe pretrain --shadow-of {target.Folder}");
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
