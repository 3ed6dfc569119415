using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Data;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>
/// `lethe pretrain` and `lethe train`: one command for every learner, under two names whose defaults differ (pretrain: a
/// MoCo encoder in runs/pretrain-METHOD; train: a classifier in runs/train).
/// </summary>
public static class TrainCommand
{
    public static Command Pretrain(IAnsiConsole console) => Build(console, "pretrain", "moco",
        "Train a contrastive encoder (SimCLR, MoCo, BYOL) with progress, checkpoints and resume");

    public static Command Train(IAnsiConsole console) => Build(console, "train", "classifier",
        "Train a supervised classifier with progress, checkpoints and resume");

    static Command Build(IAnsiConsole console, string name, string defaultMethod, string description)
    {
        var methods = string.Join(", ", TrainingMethods.All.Select(m => $"{m.Name} ({m.Summary})"));
        var method = new Option<string>("--method", "-m") { Description = $"The learner: {methods}", DefaultValueFactory = _ => defaultMethod };
        var preset = new Option<string>("--preset") { Description = $"Recipe to start from: {string.Join(", ", TrainingPresets.Names)} (overfit: this machine)", DefaultValueFactory = _ => "overfit" };
        var config = new Option<string?>("--config") { Description = "JSON file of settings that override the preset (any subset of settings.json)" };
        var dataset = CommonOptions.Dataset();
        dataset.DefaultValueFactory = null;
        var dataDir = CommonOptions.DataDir();
        var folderSet = new CommonOptions.FolderOptionSet();
        var splitFile = new Option<string?>("--split") { Description = "Split manifest (lethe data split); default: draw --members and --non-members" };
        var members = new Option<int?>("--members") { Description = "Members to train on, when no --split is given" };
        var nonMembers = new Option<int?>("--non-members") { Description = "Non-members for the monitors, when no --split is given" };
        var encoder = new Option<string?>("--encoder") { Description = "Backbone: small-cnn or resnet18" };
        var width = new Option<int?>("--width") { Description = "Backbone base width (channels of the first layer)" };
        var featureDim = new Option<int?>("--feature-dim") { Description = "Feature width of small-cnn's fully connected layer" };
        var pooled = new Option<bool?>("--pooled") { Description = "small-cnn with global average pooling instead of the fully connected layer" };
        var epochs = new Option<int?>("--epochs") { Description = "Training epochs" };
        var batch = new Option<int?>("--batch-size") { Description = "Images per step (an encoder sees two views of each)" };
        var optimizer = new Option<string?>("--optimizer") { Description = "adam or sgd" };
        var lr = new Option<double?>("--lr") { Description = "Learning rate" };
        var weightDecay = new Option<double?>("--weight-decay") { Description = "Weight decay" };
        var schedule = new Option<string?>("--schedule") { Description = "constant or cosine" };
        var temperature = new Option<double?>("--temperature") { Description = "Softmax temperature (SimCLR, MoCo)" };
        var queue = new Option<int?>("--queue-size") { Description = "MoCo queue length" };
        var augmentation = new Option<string?>("--augmentation") { Description = "standard, weak or none (a classifier's default: none)" };
        var evalEvery = new Option<int?>("--eval-every") { Description = "Epochs between evaluations (utility and the membership monitor)" };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "Epochs between checkpoints" };
        var seed = new Option<long?>("--seed") { Description = "Seed for the split, initialisation, order and augmentations" };
        var output = new Option<string?>("--out", "-o") { Description = $"Run folder (default {(name == "train" ? "runs/train" : "runs/pretrain-METHOD")})" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its newest checkpoint, with its saved settings" };
        var retrainOf = new Option<string?>("--retrain-of") { Description = "Retrain-from-scratch reference: train RUN's recipe on RUN's retain set (members minus the forget set)" };
        var shadowOf = new Option<string?>("--shadow-of") { Description = "Shadow model for attacks: train RUN's recipe on RUN's shadow members, with its own seed" };
        var force = new Option<bool>("--force") { Description = "Start afresh in a run folder that already holds a run, discarding it" };
        var command = new Command(name, description)
        {
            method, preset, config, dataset, dataDir, splitFile, members, nonMembers, encoder, width, featureDim, pooled, epochs, batch,
            optimizer, lr, weightDecay, schedule, temperature, queue, augmentation, evalEvery, checkpointEvery, seed, output, resume, force, retrainOf, shadowOf,
        };
        foreach (var option in folderSet.All) command.Options.Add(option);
        Option[] runShaping = [.. folderSet.All, preset, config, dataset, splitFile, members, nonMembers, encoder, width, featureDim, pooled, epochs, batch,
            optimizer, lr, weightDecay, schedule, temperature, queue, augmentation, evalEvery, checkpointEvery, seed, force];
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var reference = CommonOptions.Reference(parse.GetValue(retrainOf), parse.GetValue(shadowOf));
            var fallback = name == "train" ? Path.Combine("runs", "train") : Path.Combine("runs", $"pretrain-{parse.GetValue(method)}");
            var folder = CommonOptions.RunFolder(parse.GetValue(output), reference, fallback);
            var resuming = parse.GetValue(resume);
            TrainingSettings settings;
            if (resuming)
            {
                if (runShaping.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } given)
                    throw new LetheException($"--resume continues with the run's saved settings; drop {given.Name} (or start a new run)");
                if (!File.Exists(Path.Combine(folder, RunFolder.SettingsFile)))
                    throw new LetheException($"nothing to resume in {folder}: it has no {RunFolder.SettingsFile}");
                settings = TrainingRun.ReadSettings(folder);
            }
            else
            {
                // A reference must share the target's recipe and split; only --force and the output folder may be given.
                if (reference is { } asked && runShaping.Where(o => o != force).Append(method).FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } given)
                    throw new LetheException($"a {asked.TrainOn} reference reuses {asked.Run}'s recipe and split; drop {given.Name}");
                if (File.Exists(Path.Combine(folder, RunFolder.SettingsFile)) && !parse.GetValue(force))
                    throw new LetheException($"{folder} already holds a run: continue it with --resume, or pass --force to start afresh (its checkpoints are deleted)");
                if (reference is not null)
                {
                    var of = reference.Value;
                    var target = TrainingRun.ReadSettings(of.Run);
                    // A retrain shares the target's seed (it is the model unlearning should imitate); a shadow model draws
                    // its own initialisation, order and augmentations, which the attacker cannot copy from the target.
                    settings = target with { TrainOn = of.TrainOn, Seed = CommonOptions.ReferenceSeed(target.Seed, of.TrainOn) };
                }
                else
                {
                    settings = TrainingPresets.Get(parse.GetValue(preset)!, parse.GetValue(method)!);
                    if (parse.GetValue(config) is { } configPath) settings = Merge(settings, configPath);
                    var e = settings.Encoder;
                    settings = settings with
                    {
                        Dataset = parse.GetValue(dataset) is { } d ? Datasets.NameOf(Datasets.Parse(d)) : settings.Dataset,
                        Folder = folderSet.Read(parse, parse.GetValue(dataset) ?? settings.Dataset, parse.GetValue(dataDir)) ?? settings.Folder,
                        Members = parse.GetValue(members) ?? settings.Members,
                        NonMembers = parse.GetValue(nonMembers) ?? settings.NonMembers,
                        Encoder = e with
                        {
                            Architecture = parse.GetValue(encoder) ?? e.Architecture,
                            Width = parse.GetValue(width) ?? e.Width,
                            FeatureDim = parse.GetValue(featureDim) ?? e.FeatureDim,
                            Pooled = parse.GetValue(pooled) ?? e.Pooled,
                        },
                        Epochs = parse.GetValue(epochs) ?? settings.Epochs,
                        BatchSize = parse.GetValue(batch) ?? settings.BatchSize,
                        Optimizer = parse.GetValue(optimizer) ?? settings.Optimizer,
                        LearningRate = parse.GetValue(lr) ?? settings.LearningRate,
                        WeightDecay = parse.GetValue(weightDecay) ?? settings.WeightDecay,
                        Schedule = parse.GetValue(schedule) ?? settings.Schedule,
                        Temperature = parse.GetValue(temperature) ?? settings.Temperature,
                        QueueSize = parse.GetValue(queue) ?? settings.QueueSize,
                        Augmentation = parse.GetValue(augmentation) is { } a ? AugmentationSettings.FromName(a) : settings.Augmentation,
                        EvalEvery = parse.GetValue(evalEvery) ?? settings.EvalEvery,
                        CheckpointEvery = parse.GetValue(checkpointEvery) ?? settings.CheckpointEvery,
                        Seed = parse.GetValue(seed) ?? settings.Seed,
                    };
                }
            }
            settings.Validate();
            var data = Datasets.Load(settings.Dataset, parse.GetValue(dataDir), settings.Folder);
            var splitPath = resuming ? Path.Combine(folder, RunFolder.SplitFile)
                : reference is { } r ? Path.Combine(r.Run, RunFolder.SplitFile)
                : parse.GetValue(splitFile);
            var split = splitPath is not null ? MembershipSplit.Load(splitPath, data) : MembershipSplit.Create(settings.Split, data);

            using var cancel = new GracefulStop(console, "Stopping after this epoch's checkpoint");
            console.MarkupLineInterpolated(
                $"[bold]{settings.Method}[/] on {data.Name}: {split.TrainingIds(settings.TrainOn).Count} {settings.TrainOn}, {settings.Encoder.Architecture} (width {settings.Encoder.Width}), {settings.Epochs} epochs, batch {settings.BatchSize}, {settings.Optimizer} lr {settings.LearningRate}, seed {settings.Seed} -> {Path.GetFullPath(folder)}");
            var created = OutermostMissing(folder);
            TrainingResult result;
            try
            {
                result = TrainingProgress.Run(console, settings, data, split, folder, device, resuming, cancel.Token);
            }
            catch
            {
                // A run that fails before its first checkpoint (a loss that became NaN, say) leaves no folder it created behind.
                if (created is not null && Directory.Exists(created) && new RunFolder(folder).LatestCheckpoint() is null) Directory.Delete(created, recursive: true);
                throw;
            }
            Summarise(console, result, folder);
            return result.Completed ? LetheCli.Ok : 130;
        });
        return command;
    }

    /// <summary>The outermost of <paramref name="folder"/> and its parents that does not exist yet, or null when it exists.</summary>
    static string? OutermostMissing(string folder)
    {
        string? missing = null;
        for (var path = Path.GetFullPath(folder); !string.IsNullOrEmpty(path) && !Path.Exists(path); path = Path.GetDirectoryName(path)) missing = path;
        return missing;
    }

    static void Summarise(IAnsiConsole console, TrainingResult result, string folder)
    {
        var table = new Table().AddColumns("result", "value");
        table.AddRow("status", result.Completed ? "completed" : $"stopped after epoch {result.Epoch} (resume with --resume)");
        table.AddRow("checkpoint", Markup.Escape(Path.GetFullPath(result.Checkpoint)));
        if (result.LastEvaluation is { Membership: { } m } e)
        {
            if (e.KnnAccuracy is { } knn) table.AddRow($"kNN accuracy (epoch {e.Epoch})", $"{knn:P1}");
            if (e.TestAccuracy is { } test) table.AddRow($"test accuracy (epoch {e.Epoch})", $"{test:P1}");
            if (m.HeadSimilarityAuc is { } head)
            {
                table.AddRow("membership AUC, view similarity: head / backbone", $"{head:F3} / {m.BackboneSimilarityAuc:F3}");
                table.AddRow("membership AUC, top-1 confidence: head / backbone", $"{m.ConfidenceAuc:F3} / {m.BackboneConfidenceAuc:F3}");
                table.AddRow("view similarity (head): members / non-members", $"{m.MemberScore:F3} / {m.NonMemberScore:F3}");
            }
            else
            {
                table.AddRow("membership AUC, confidence / loss", $"{m.ConfidenceAuc:F3} / {m.LossAuc:F3}");
                table.AddRow("top-1 probability: members / non-members", $"{m.MemberScore:F3} / {m.NonMemberScore:F3}");
            }
            table.AddRow("training time", TrainingProgress.Duration(e.TrainingSeconds));
        }
        if (result.LinearProbeAccuracy is { } probe) table.AddRow("linear probe accuracy", $"{probe:P1}");
        table.AddRow("metrics", Markup.Escape(Path.GetFullPath(Path.Combine(folder, RunFolder.MetricsFile))));
        console.Write(table);
    }

    /// <summary>Overlays a JSON file's properties (at any depth) on the settings.</summary>
    static TrainingSettings Merge(TrainingSettings settings, string path)
    {
        if (!File.Exists(path)) throw new LetheException($"settings file not found: {path}");
        JsonNode? overlay;
        try
        {
            overlay = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, $"is not valid JSON ({e.Message.Split('\n')[0]})");
        }
        if (overlay is not JsonObject overlayObject) throw new DataFormatException(path, "must hold a JSON object of settings");
        var baseNode = JsonSerializer.SerializeToNode(settings, LetheJson.Options)!.AsObject();
        MergeInto(baseNode, overlayObject, path, "");
        return LetheJson.DeserializeSettings<TrainingSettings>(baseNode, path);
    }

    static void MergeInto(JsonObject target, JsonObject overlay, string path, string prefix)
    {
        foreach (var (key, value) in overlay)
        {
            var name = target.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase))
                ?? throw new DataFormatException(path, $"unknown setting '{prefix}{key}'");
            if (value is JsonObject inner && target[name] is JsonObject existing) MergeInto(existing, inner, path, $"{prefix}{name}.");
            else target[name] = value?.DeepClone();
        }
    }
}
