using System.CommandLine;
using System.Diagnostics;
using Lethe.Audits;
using Lethe.Data;
using Lethe.Experiments;
using Lethe.Reports;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using Lethe.Unlearning;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>`lethe demo`: pretrain, audit, unlearn, audit, retrain, audit, and a Markdown and HTML report.</summary>
public static class DemoCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var output = new Option<string>("--out", "-o") { Description = "Demo folder: runs, audits and the report", DefaultValueFactory = _ => Path.Combine("runs", "demo") };
        var method = new Option<string>("--method", "-m") { Description = $"Encoder method: {string.Join(", ", TrainingMethods.EncoderNames)}", DefaultValueFactory = _ => "moco" };
        var unlearning = new Option<string>("--unlearning", "-u")
        {
            Description = $"Unlearning method: {string.Join(", ", UnlearningMethods.For(classifier: false))}",
            DefaultValueFactory = _ => DemoSettings.DefaultUnlearning,
        };
        var seed = new Option<long>("--seed") { Description = "Seed of the split, training, unlearning and audits", DefaultValueFactory = _ => 0 };
        var preset = new Option<string>("--preset") { Description = "Pretraining recipe (tiny is for tests)", DefaultValueFactory = _ => "overfit", Hidden = true };
        var dataDir = CommonOptions.DataDir();
        var command = new Command("demo", "The end-to-end demo on Fashion-MNIST: pretrain a MoCo encoder, forget 20% of its members, compare with retraining, write a report")
        {
            output, method, unlearning, seed, preset, dataDir,
        };
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var folder = parse.GetValue(output)!;
            var s = parse.GetValue(seed);
            var settings = new DemoSettings
            {
                Method = parse.GetValue(method)!,
                Preset = parse.GetValue(preset)!,
                Seed = s,
                // The method's built-in tuned defaults, with the run's seed.
                Unlearning = Unlearning(parse.GetValue(unlearning)!) with { Seed = s },
                Audit = new() { Seed = s },
            };
            if (!TrainingPresets.Names.Contains(settings.Preset)) throw new LetheException($"unknown preset '{settings.Preset}': use {string.Join(", ", TrainingPresets.Names)}");
            settings.Recipe().Validate();
            var recipe = settings.Recipe();
            var data = Datasets.Load(Datasets.Parse(recipe.Dataset), parse.GetValue(dataDir));
            Directory.CreateDirectory(folder);
            LetheJson.WriteFile(Path.Combine(folder, "demo-settings.json"), new { settings, recipe });

            using var cancel = new GracefulStop(console, "Stopping after this epoch's checkpoint; run the demo again to continue");
            try
            {
                var stages = new[] { "pretrain", "audit original", "unlearn", "audit unlearned", "retrain", "audit retrained" };
                var watch = Stopwatch.StartNew();
                var pipeline = new DemoPipeline(settings, data, folder, device)
                {
                    Train = (r, split, runFolder, resume, token) =>
                    {
                        if (resume) console.MarkupLineInterpolated($"[grey]resuming {runFolder} from its newest checkpoint[/]");
                        return TrainingProgress.Run(console, r, data, split, runFolder, device, resume, token);
                    },
                    OnStage = stage => console.MarkupLineInterpolated(
                        $"[bold][[{Array.IndexOf(stages, stage) + 1}/{stages.Length + 1}]] {stage}[/] [grey](demo time {watch.Elapsed:mm\\:ss})[/]"),
                    OnUnlearningEpoch = e => console.WriteLine(
                        $"  epoch {e.Epoch}: L_MEMtrain {e.Train:F4}  penalty {e.Penalty:F5}  ({e.Seconds:F1} s)"),
                };
                var result = pipeline.Run(cancel.Token);
                console.MarkupLineInterpolated($"[bold][[{stages.Length + 1}/{stages.Length + 1}]] report[/] [grey](demo time {watch.Elapsed:mm\\:ss})[/]");
                foreach (var audit in new[] { result.Before, result.After, result.Retrained })
                {
                    Audit.Write(audit.Report, Path.Combine(folder, "audits"), audit.Report.Model);
                }
                var files = DemoReport.Write(result, folder);
                LetheJson.WriteFile(Path.Combine(folder, "demo.json"), new { result.Targets, allTargetsMet = result.Targets.AllMet, result.Timings, unlearning = result.Unlearning });
                Show(console, result);
                console.MarkupLineInterpolated($"Report: {Path.GetFullPath(files.Markdown)} and {Path.GetFullPath(files.Html)} ({watch.Elapsed:mm\\:ss} in all).");
                return LetheCli.Ok;
            }
            catch (ExperimentStoppedException stopped)
            {
                console.MarkupLineInterpolated($"[yellow]{stopped.Message}[/]");
                return 130;
            }
        });
        return command;
    }

    internal static void Show(IAnsiConsole console, DemoResult r)
    {
        var b = r.Before.Report;
        var a = r.After.Report;
        var t = r.Retrained.Report;
        var table = new Table().Title("forget set: EncoderMI on the head").AddColumns("", "before", "after unlearning", "retrained");
        table.AddRow("kNN accuracy", MarkdownTable.Percent(b.KnnAccuracy), MarkdownTable.Percent(a.KnnAccuracy), MarkdownTable.Percent(t.KnnAccuracy));
        table.AddRow("MIA AUC", MarkdownTable.Number(b.Head.ForgetEncoderMi.Threshold.Auc), MarkdownTable.Number(a.Head.ForgetEncoderMi.Threshold.Auc), MarkdownTable.Number(t.Head.ForgetEncoderMi.Threshold.Auc));
        table.AddRow("MIA accuracy", MarkdownTable.Percent(b.Head.ForgetEncoderMi.Threshold.Accuracy), MarkdownTable.Percent(a.Head.ForgetEncoderMi.Threshold.Accuracy), MarkdownTable.Percent(t.Head.ForgetEncoderMi.Threshold.Accuracy));
        table.AddRow("MIA AUC, retained members", MarkdownTable.Number(b.Head.RetainEncoderMi.Threshold.Auc), MarkdownTable.Number(a.Head.RetainEncoderMi.Threshold.Auc), MarkdownTable.Number(t.Head.RetainEncoderMi.Threshold.Auc));
        console.Write(table);
        console.MarkupLine(r.Targets.AllMet ? "[green]All targets met.[/]" : "[yellow]Some targets were not met; the report's Targets table says which.[/]");
    }

    static UnlearningSettings Unlearning(string name)
    {
        var info = UnlearningMethods.Get(name);
        if (!info.WorksOn(classifier: false)) throw new LetheException($"{name} works on classifiers only: the demo unlearns an encoder");
        return UnlearningMethods.Defaults(name, classifier: false);
    }
}
