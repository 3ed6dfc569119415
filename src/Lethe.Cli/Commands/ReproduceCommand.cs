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
        var (shard, assemble) = ShardOptions("the tables");
        var plan = new Option<bool>("--plan") { Description = "List the pieces of work the tables need (with --shard: that part's), whether done, and measure nothing" };
        var dataDir = CommonOptions.DataDir();
        var command = new Command("reproduce", "Run the paper's experiments (tables II-VII) and compare every unlearning method; resumable, cached per experiment")
        {
            output, scale, only, seeds, seed, ablationSeeds, lira, tuned, datasets, shards, shard, assemble, plan, dataDir,
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
            var part = Shard(parse, shard, assemble);
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
                if (parse.GetValue(plan))
                {
                    ShowPlan(console, pipeline, part);
                    return LetheCli.Ok;
                }
                if (part is { } shardPart)
                {
                    ShowShard(console, pipeline.RunShard(shardPart.Index, shardPart.Count, cancel.Token), "reproduce", "build the tables");
                    return LetheCli.Ok;
                }
                var result = pipeline.Run(cancel.Token, parse.GetValue(assemble));
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

    /// <summary>--shard I/N and --assemble, for reproduce and tune; <paramref name="product"/>: what the assembling run builds.</summary>
    internal static (Option<string?> Shard, Option<bool> Assemble) ShardOptions(string product) => (
        new Option<string?>("--shard")
        {
            Description = $"I/N: measure only the I-th of N disjoint parts of the work into the --out folder (one task of a job array; docs/scale-out.md), building nothing else",
        },
        new Option<bool>("--assemble") { Description = $"Build {product} from the --out folder only, measuring nothing: fails if a shard's work is missing" });

    /// <summary>The --shard part asked for, if any (refused beside --assemble).</summary>
    internal static (int Index, int Count)? Shard(ParseResult parse, Option<string?> shard, Option<bool> assemble)
    {
        if (parse.GetValue(shard) is not { } text) return null;
        if (parse.GetValue(assemble)) throw new LetheException("--shard and --assemble exclude each other: shards measure, --assemble builds from their work afterwards");
        return ParseShard(text);
    }

    internal static void ShowShard(IAnsiConsole console, ShardResult done, string command, string product) => console.MarkupLineInterpolated(
        $"Shard {done.Index}/{done.Count}: {done.Part} of {done.Total} pieces of work, {done.Measured} measured now, {done.AlreadyDone} already done ({TimeSpan.FromSeconds(done.Seconds):hh\\:mm\\:ss}). When every shard has finished, run {command} with the same options and --assemble (no --shard) to {product}.");

    /// <summary>"I/N" with 1 ≤ I ≤ N.</summary>
    static (int Index, int Count) ParseShard(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var index) || !int.TryParse(parts[1], out var count) || count < 1 || index < 1 || index > count)
            throw new LetheException($"--shard '{text}': expected I/N with 1 <= I <= N, e.g. 1/4");
        return (index, count);
    }

    static void ShowPlan(IAnsiConsole console, ReproducePipeline pipeline, (int Index, int Count)? part)
    {
        var plan = pipeline.Plan();
        var (units, shown) = (plan.Units, part is { } p ? plan.Part(p.Index, p.Count) : plan.Units);
        var table = new Table().AddColumns("#", "work", "group", "done");
        var index = 0;
        foreach (var unit in shown) table.AddRow((++index).ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(unit.Path), Markup.Escape(unit.Group), unit.Done() ? "yes" : "no");
        console.Write(table);
        console.MarkupLineInterpolated($"{shown.Count} pieces of work{(part is { } q ? $" in part {q.Index}/{q.Count} of {units.Count}" : "")}, {shown.Count(u => u.Done())} done.");
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
