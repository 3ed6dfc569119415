using System.CommandLine;
using System.Diagnostics;
using Lethe.Experiments;
using Lethe.Reports;
using Lethe.Runtime;
using Lethe.Storage;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>`lethe tune`: choose every unlearning method's step size and epochs on tuning seeds, for reproduce, demo and unlearn to start from.</summary>
public static class TuneCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var defaults = new TuningSettings();
        var output = new Option<string?>("--out", "-o") { Description = "Folder for runs and cells (default runs/reproduce-SCALE, shared with lethe reproduce)" };
        var scale = new Option<string>("--scale") { Description = "Recipes as in lethe reproduce: tiny, small or paper", DefaultValueFactory = _ => defaults.Scale };
        var seed = new Option<long>("--seed") { Description = "First tuning seed; report on other seeds", DefaultValueFactory = _ => defaults.FirstSeed };
        var seeds = new Option<int>("--seeds") { Description = "How many tuning seeds", DefaultValueFactory = _ => defaults.Seeds };
        var factors = new Option<double[]>("--lr-factors") { Description = "Multiples of each method's hand-set learning rate to try", AllowMultipleArgumentsPerToken = true };
        var epochs = new Option<int[]>("--epochs") { Description = "Unlearning epochs to try", AllowMultipleArgumentsPerToken = true };
        var write = new Option<string?>("--write") { Description = "Where to write the tuned defaults (default OUT/tuned-defaults.json); copy it to src/Lethe/Unlearning/tuned-defaults.json to make it built in" };
        var diagnose = new Option<bool>("--diagnose") { Description = "Instead of tuning, measure the diagnosis of docs/targeted-unlearning.md on the tuning seeds (diagnosis.md)" };
        var (shard, assemble) = ReproduceCommand.ShardOptions("the choice");
        var dataDir = CommonOptions.DataDir();
        var command = new Command("tune", "Choose each unlearning method's learning rate and epochs on tuning seeds: the closest match to retraining (docs/tuning.md)")
        {
            output, scale, seed, seeds, factors, epochs, write, diagnose, shard, assemble, dataDir,
        };
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var settings = defaults with
            {
                Scale = parse.GetValue(scale)!,
                FirstSeed = parse.GetValue(seed),
                Seeds = parse.GetValue(seeds),
                LearningRateFactors = parse.GetValue(factors) is { Length: > 0 } f ? f : defaults.LearningRateFactors,
                Epochs = parse.GetValue(epochs) is { Length: > 0 } e ? e : defaults.Epochs,
            };
            settings.Validate();
            settings.Reproduce.Validate();
            var part = ReproduceCommand.Shard(parse, shard, assemble);
            var folder = parse.GetValue(output) ?? Path.Combine("runs", $"reproduce-{settings.Scale}");
            Directory.CreateDirectory(folder);
            LetheJson.WriteFile(Path.Combine(folder, "tuning-settings.json"), settings);
            using var cancel = new GracefulStop(console, "Stopping after this epoch's checkpoint; run tune again to continue");
            var watch = Stopwatch.StartNew();
            var reproduce = settings.Reproduce;
            var hooks = ReproduceCommand.Hooks(console, parse.GetValue(dataDir), device, watch,
                reproduce.Recipe(ReproduceSettings.ClassifierModel, reproduce.MainDataset, settings.FirstSeed).Epochs);
            try
            {
                if (parse.GetValue(diagnose))
                {
                    var diagnosis = new Diagnosis(settings, folder, device, hooks).Run(cancel.Token);
                    DiagnosisReport.Write(diagnosis, folder);
                    ReproduceCommand.Show(console, [DiagnosisReport.Table(diagnosis)]);
                    console.MarkupLineInterpolated($"Diagnosed on seed(s) {string.Join(", ", settings.SeedValues)} in {watch.Elapsed:hh\\:mm\\:ss}: {Path.GetFullPath(Path.Combine(folder, "diagnosis.md"))}");
                    return LetheCli.Ok;
                }
                var tuning = new Tuning(settings, folder, device, hooks);
                if (part is { } p)
                {
                    ReproduceCommand.ShowShard(console, tuning.RunShard(p.Index, p.Count, cancel.Token), "tune", "choose the defaults");
                    return LetheCli.Ok;
                }
                var result = tuning.Run(cancel.Token, parse.GetValue(assemble));
                var path = parse.GetValue(write) ?? Path.Combine(folder, "tuned-defaults.json");
                result.Tuned.Save(path);
                var table = TuningReport.Table(result);
                TuningReport.Write(result, folder);
                ReproduceCommand.Show(console, [table]);
                console.MarkupLineInterpolated($"Tuned on seed(s) {string.Join(", ", result.Tuned.TuningSeeds)} in {watch.Elapsed:hh\\:mm\\:ss}: {Path.GetFullPath(path)}");
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
}
