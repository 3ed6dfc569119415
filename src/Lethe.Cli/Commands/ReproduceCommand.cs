using System.CommandLine;
using System.Diagnostics;
using Lethe.Data;
using Lethe.Experiments;
using Lethe.Reports;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using Lethe.Unlearning;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>`lethe reproduce`: the paper's tables II to VII and the method comparison, cached per experiment, with a report.</summary>
public static class ReproduceCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var defaults = new ReproduceSettings();
        var output = new Option<string?>("--out", "-o") { Description = "Folder for runs, cells, tables and the report (default runs/reproduce-SCALE)" };
        var scale = new Option<string>("--scale")
        {
            Description = "small: this machine (about 1 hour on 2 cores); paper: the paper's protocol (10,000 members, ResNet-18; a GPU machine); tiny: tests",
            DefaultValueFactory = _ => defaults.Scale,
        };
        var only = new Option<string[]>("--only")
        {
            Description = $"Tables to run: {string.Join(", ", ReproduceSettings.AllTables)} (default: all)",
            AllowMultipleArgumentsPerToken = true,
        };
        var seeds = new Option<int>("--seeds") { Description = "Report seeds: measure each cell with this many seeds and report the mean ± its 95% confidence interval", DefaultValueFactory = _ => defaults.Seeds };
        var seed = new Option<long>("--seed") { Description = "First report seed (must not be a seed the unlearning defaults were tuned on)", DefaultValueFactory = _ => defaults.FirstSeed };
        var ablationSeeds = new Option<int>("--ablation-seeds") { Description = "How many of the report seeds tables III-VI use", DefaultValueFactory = _ => defaults.AblationSeeds };
        var lira = new Option<int>("--lira") { Description = "Add the LiRA audit with K reference models per model kind (K >= 4; 8 or more for real figures; docs/lira.md)", DefaultValueFactory = _ => 0 };
        var tuned = new Option<string?>("--tuned") { Description = "Unlearning defaults from lethe tune (default: the built-in ones tuned at the small scale, where the scale is small)" };
        var datasets = new Option<string[]>("--datasets")
        {
            Description = "Data sets of tables II and VII (the first one serves the other tables too); default: fashion-mnist, or cifar10 cifar100 svhn at paper scale",
            AllowMultipleArgumentsPerToken = true,
        };
        var shards = new Option<int>("--sisa-shards") { Description = "SISA's shard count in the method comparison", DefaultValueFactory = _ => defaults.SisaShards };
        var dataDir = CommonOptions.DataDir();
        var command = new Command("reproduce", "Run the paper's experiments (tables II-VII) and compare every unlearning method; resumable, cached per experiment")
        {
            output, scale, only, seeds, seed, ablationSeeds, lira, tuned, datasets, shards, dataDir,
        };
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            static IReadOnlyList<string> Split(string[]? values) =>
                [.. (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(v => v.ToLowerInvariant())];
            var tables = Split(parse.GetValue(only));
            var settings = defaults with
            {
                Scale = parse.GetValue(scale)!,
                Tables = tables.Count > 0 ? tables : ReproduceSettings.AllTables,
                Datasets = Split(parse.GetValue(datasets)) is { Count: > 0 } d ? d : null,
                Seeds = parse.GetValue(seeds),
                FirstSeed = parse.GetValue(seed),
                AblationSeeds = parse.GetValue(ablationSeeds),
                Lira = parse.GetValue(lira),
                SisaShards = parse.GetValue(shards),
                Tuned = parse.GetValue(tuned) is { } path ? TunedDefaults.Load(path) : null,
                TunedPath = parse.GetValue(tuned) is { } p ? Path.GetFullPath(p) : null,
            };
            settings.Validate();
            // One folder per scale by default: a quick tiny run must not replace the small scale's training runs.
            var folder = parse.GetValue(output) ?? Path.Combine("runs", $"reproduce-{settings.Scale}");
            var directory = parse.GetValue(dataDir);
            Directory.CreateDirectory(folder);
            LetheJson.WriteFile(Path.Combine(folder, "reproduce-settings.json"), settings);

            using var cancel = new GracefulStop(console, "Stopping after this epoch's checkpoint; run reproduce again to continue");
            var watch = Stopwatch.StartNew();
            var hooks = Hooks(console, directory, device, watch, settings.Recipe(ReproduceSettings.ClassifierModel, settings.MainDataset, settings.FirstSeed).Epochs);
            var pipeline = new ReproducePipeline(settings, folder, device, hooks);
            try
            {
                var result = pipeline.Run(cancel.Token);
                var files = ReproduceReport.Write(result, folder);
                Show(console, result.Tables);
                console.MarkupLineInterpolated(
                    $"Experiments: {result.Measured} measured now, {result.Reused} read from cells/. Tables in {Path.GetFullPath(Path.Combine(folder, ReproduceReport.TablesFolder))}; report: {Path.GetFullPath(files.Markdown)} and {Path.GetFullPath(files.Html)} ({watch.Elapsed:hh\\:mm\\:ss}).");
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

    /// <summary>Data loading, training with a progress display, and stage logs, for reproduce and tune.</summary>
    internal static ReproduceHooks Hooks(IAnsiConsole console, string? directory, TorchSharp.torch.Device device, Stopwatch watch, int shardEpochs) => new()
    {
        LoadData = name => Datasets.Load(Datasets.Parse(name), directory),
        Train = (recipe, data, split, run, resume, token) =>
        {
            if (resume) console.MarkupLineInterpolated($"[grey]resuming {run} from its newest checkpoint[/]");
            return TrainingProgress.Run(console, recipe, data, split, run, device, resume, token).Completed;
        },
        OnStage = stage => console.MarkupLineInterpolated($"[bold]{stage}[/] [grey]({watch.Elapsed:hh\\:mm\\:ss})[/]"),
        OnShardEpoch = (shard, m) =>
        {
            if (m.Evaluated) console.WriteLine($"  shard {shard}: {TrainingProgress.Describe(m, shardEpochs)}");
        },
        OnUnlearningEpoch = e => console.WriteLine($"  epoch {e.Epoch}: total {e.Total:F4}  train {e.Train:F4}  penalty {e.Penalty:F5}  ({e.Seconds:F1} s)"),
    };

    /// <summary>Prints result tables.</summary>
    internal static void Show(IAnsiConsole console, IEnumerable<ResultTable> tables)
    {
        foreach (var table in tables)
        {
            var shown = new Table().Title(table.Title).AddColumns([.. table.Columns.Select(c => Markup.Escape(c))]);
            foreach (var row in table.Rows) shown.AddRow([.. row.Select(v => Markup.Escape(v.ToString()))]);
            console.Write(shown);
        }
    }
}
