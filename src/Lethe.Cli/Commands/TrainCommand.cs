using System.CommandLine;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Supervised;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>`lethe train`: trains a supervised classifier on the members of a split (or its retain or shadow set).</summary>
public static class TrainCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var preset = new Option<string>("--preset") { Description = "Recipe to start from: tiny, overfit (this machine) or paper", DefaultValueFactory = _ => "overfit" };
        var dataset = CommonOptions.Dataset();
        dataset.DefaultValueFactory = null;
        var dataDir = CommonOptions.DataDir();
        var members = new Option<int?>("--members") { Description = "Members to train on" };
        var nonMembers = new Option<int?>("--non-members") { Description = "Non-members for the monitors" };
        var encoder = new Option<string?>("--encoder") { Description = "small-cnn or resnet18" };
        var width = new Option<int?>("--width") { Description = "Backbone base width" };
        var epochs = new Option<int?>("--epochs") { Description = "Training epochs" };
        var batch = new Option<int?>("--batch-size") { Description = "Images per step" };
        var optimizer = new Option<string?>("--optimizer") { Description = "adam or sgd" };
        var lr = new Option<double?>("--lr") { Description = "Learning rate" };
        var augmentation = new Option<string?>("--augmentation") { Description = "none (default), weak or standard" };
        var seed = new Option<long?>("--seed") { Description = "Seed for the split, initialisation, order and augmentations" };
        var output = new Option<string?>("--out", "-o") { Description = "Run folder (default runs/train)" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its newest checkpoint" };
        var force = new Option<bool>("--force") { Description = "Start afresh in a run folder that already holds a run" };
        var retrainOf = new Option<string?>("--retrain-of") { Description = "Retrain-from-scratch reference: RUN's recipe on RUN's retain set" };
        var shadowOf = new Option<string?>("--shadow-of") { Description = "Shadow model for attacks: RUN's recipe on RUN's shadow members, with its own seed" };
        var command = new Command("train", "Train a supervised classifier with progress, checkpoints and resume")
        {
            preset, dataset, dataDir, members, nonMembers, encoder, width, epochs, batch, optimizer, lr, augmentation, seed, output, resume, force, retrainOf, shadowOf,
        };
        Option[] recipe = [preset, dataset, members, nonMembers, encoder, width, epochs, batch, optimizer, lr, augmentation, seed];
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var reference = CommonOptions.Reference(parse.GetValue(retrainOf), parse.GetValue(shadowOf));
            var folder = CommonOptions.RunFolder(parse.GetValue(output), reference, Path.Combine("runs", "train"));
            var resuming = parse.GetValue(resume);
            var given = recipe.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false });
            ClassifierSettings settings;
            MembershipSplit? split = null;
            if (resuming || reference is not null)
            {
                if (given is not null) throw new LetheException($"{(resuming ? "--resume continues with the run's saved settings" : "a reference run reuses its run's recipe and split")}; drop {given.Name}");
                var from = resuming ? folder : reference!.Value.Run;
                settings = LetheJson.ReadFile<ClassifierSettings>(Path.Combine(from, RunFolder.SettingsFile), "run settings");
                if (!resuming && reference is { } of)
                    settings = settings with { TrainOn = of.TrainOn, Seed = CommonOptions.ReferenceSeed(settings.Seed, of.TrainOn) };
            }
            else
            {
                settings = ClassifierPresets.Get(parse.GetValue(preset)!);
                settings = settings with
                {
                    Dataset = parse.GetValue(dataset) ?? settings.Dataset,
                    Members = parse.GetValue(members) ?? settings.Members,
                    NonMembers = parse.GetValue(nonMembers) ?? settings.NonMembers,
                    Encoder = settings.Encoder with { Architecture = parse.GetValue(encoder) ?? settings.Encoder.Architecture, Width = parse.GetValue(width) ?? settings.Encoder.Width },
                    Epochs = parse.GetValue(epochs) ?? settings.Epochs,
                    BatchSize = parse.GetValue(batch) ?? settings.BatchSize,
                    Optimizer = parse.GetValue(optimizer) ?? settings.Optimizer,
                    LearningRate = parse.GetValue(lr) ?? settings.LearningRate,
                    Augmentation = parse.GetValue(augmentation) is { } a ? AugmentationSettings.FromName(a) : settings.Augmentation,
                    Seed = parse.GetValue(seed) ?? settings.Seed,
                };
            }
            if (!resuming && File.Exists(Path.Combine(folder, RunFolder.SettingsFile)) && !parse.GetValue(force))
                throw new LetheException($"{folder} already holds a run: continue it with --resume, or pass --force to start afresh (its checkpoints are deleted)");
            settings.Validate();
            var data = Datasets.Load(Datasets.Parse(settings.Dataset), parse.GetValue(dataDir));
            if (resuming) split = MembershipSplit.Load(Path.Combine(folder, RunFolder.SplitFile), data);
            else if (reference is { } r2) split = MembershipSplit.Load(Path.Combine(r2.Run, RunFolder.SplitFile), data);
            split ??= MembershipSplit.Create(
                new SplitSettings { Members = settings.Members, NonMembers = settings.NonMembers, ForgetFraction = settings.ForgetFraction, Seed = settings.Seed },
                data.Name, data.Train.Count, data.Test.Count);

            using var cancel = new GracefulStop(console, "Stopping after this epoch's checkpoint");
            var trainer = new ClassifierTrainer(settings, data, split, folder, device)
            {
                OnEpoch = m => Report(console, m, settings.Epochs),
            };
            console.MarkupLineInterpolated(
                $"[bold]classifier[/] on {data.Name}: {trainer.TrainIds.Count} {settings.TrainOn}, {settings.Encoder.Architecture} (width {settings.Encoder.Width}), {settings.Epochs} epochs, batch {settings.BatchSize}, {settings.Optimizer} lr {settings.LearningRate}, seed {settings.Seed} -> {Path.GetFullPath(folder)}");
            var result = trainer.Run(resuming, cancel.Token);
            console.MarkupLineInterpolated($"{(result.Completed ? "completed" : $"stopped after epoch {result.Epoch} (resume with --resume)")}: {Path.GetFullPath(result.Checkpoint)}");
            return result.Completed ? LetheCli.Ok : 130;
        });
        return command;
    }

    /// <summary>One plain line per evaluated epoch (a classifier trains in a few minutes; a line per evaluation is progress enough).</summary>
    internal static void Report(IAnsiConsole console, ClassifierEpochMetrics m, int epochs)
    {
        if (m.TestAccuracy is not { } test) return;
        var left = TimeSpan.FromSeconds(m.TrainingSeconds / m.Epoch * (epochs - m.Epoch));
        console.WriteLine($"epoch {m.Epoch}/{epochs} loss {m.Loss:F4} train {m.TrainAccuracy:P1} test {test:P1} AUC confidence {m.Membership!.ConfidenceAuc:F3} loss {m.Membership.LossAuc:F3} | {m.ImagesPerSecond:N0} img/s | {TimeSpan.FromSeconds(m.TrainingSeconds):hh\\:mm\\:ss}, {left:hh\\:mm\\:ss} left");
    }
}
