using System.CommandLine;
using Lethe.Audits;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Unlearning;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>`lethe unlearn`: applies a gradient-penalty unlearning method to a pretrained encoder and measures it before and after.</summary>
public static class UnlearnCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var run = new Option<string>("--run") { Description = "Pretraining run folder (its settings.json, split.json and final.ckpt)", Required = true };
        var forgetIds = new Option<string?>("--forget-ids") { Description = "File of training-split ids to forget instead of the split's forget set" };
        var dataDir = CommonOptions.DataDir();
        var defaults = new UnlearningSettings();
        var method = new Option<string>("--method", "-m")
        {
            Description = "memgp (optimized variant), gp (full variant), or a baseline: finetune, neggrad, neggrad+, alignment",
            DefaultValueFactory = _ => defaults.Method,
        };
        var ascentWeight = new Option<double>("--ascent-weight") { Description = "NegGrad+: weight of the ascent on the forget set", DefaultValueFactory = _ => defaults.AscentWeight };
        var alignmentWeight = new Option<double?>("--alignment-weight") { Description = "Alignment Calibration: weight of the forget set's view alignment (default 2)" };
        var alpha = new Option<double>("--alpha") { Description = "Weight of L_MEMtrain (0 switches it off)", DefaultValueFactory = _ => defaults.Alpha };
        var beta = new Option<double>("--beta") { Description = "Weight of the gradient penalty", DefaultValueFactory = _ => defaults.Beta };
        var gamma = new Option<double?>("--gamma") { Description = "Weight of L_Norm (gp only; default 1, as in the paper's eq. 2)" };
        var epochs = new Option<int>("--epochs") { Description = "At most this many epochs", DefaultValueFactory = _ => defaults.Epochs };
        var batch = new Option<int>("--batch-size") { Description = "Forget samples per step", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double?>("--lr") { Description = "Adam learning rate (default: the method's, docs/baselines.md: 2e-3 for encoders, 1e-4 to 2e-3 for classifiers)" };
        var output = new Option<string>("--output") { Description = "D: head or backbone", DefaultValueFactory = _ => defaults.Output };
        var seed = new Option<long>("--seed") { Description = "Seed of the order and augmentations", DefaultValueFactory = _ => 0 };
        var outFolder = new Option<string?>("--out", "-o") { Description = "Where to write unlearned.ckpt and unlearning.json (default RUN/unlearn-METHOD)" };
        var command = new Command("unlearn", "Make a pretrained encoder forget its forget set (gradient penalty), with membership figures before and after")
        {
            run, forgetIds, dataDir, method, alpha, beta, gamma, ascentWeight, alignmentWeight, epochs, batch, lr, output, seed, outFolder,
        };
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var classifier = Supervised.ClassifierRun.IsClassifierRun(parse.GetValue(run)!);
            var methodDefaults = UnlearningDefaults.For(parse.GetValue(method)!, classifier);
            var settings = methodDefaults with
            {
                Alpha = parse.GetValue(alpha),
                Beta = parse.GetValue(beta),
                Gamma = parse.GetValue(gamma) ?? methodDefaults.Gamma,
                AscentWeight = parse.GetValue(ascentWeight),
                AlignmentWeight = parse.GetValue(alignmentWeight) ?? methodDefaults.AlignmentWeight,
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr) ?? methodDefaults.LearningRate,
                Output = parse.GetValue(output)!,
                Seed = parse.GetValue(seed),
            };
            settings.Validate();
            if (classifier)
                return UnlearnClassifier(console, parse.GetValue(run)!, parse.GetValue(forgetIds), parse.GetValue(dataDir), parse.GetValue(outFolder), settings, device);
            var target = PretrainRun.Open(parse.GetValue(run)!, parse.GetValue(dataDir));
            if (parse.GetValue(forgetIds) is { } idsFile)
                target = target with { Split = target.Split.WithForgetFile(idsFile) };
            var (runFolder, pretrain, data, split) = (target.Folder, target.Settings, target.Data, target.Split);
            var folder = parse.GetValue(outFolder) ?? Path.Combine(runFolder, $"unlearn-{settings.Method}");

            var trainer = new ContrastiveTrainer(pretrain, data, split, runFolder, device);
            var checkpoint = target.FinalCheckpoint;
            var model = target.LoadModel(device);
            var augmentation = new ContrastiveAugmentation(pretrain.Augmentation);
            MembershipMonitorResult Audit(IReadOnlyList<int> ids) => MembershipMonitor.Measure(
                model, data.Train, ids, data.Test, split.NonMembers, augmentation, pretrain.MonitorViews, pretrain.Seed, device);

            console.MarkupLineInterpolated($"Unlearning {split.Forget.Length} of {split.Members.Length} members of {Path.GetFullPath(checkpoint)} with {settings.Method} (alpha {settings.Alpha}, beta {settings.Beta}, gamma {settings.Gamma}, lr {settings.LearningRate}, D = {settings.Output})");
            var before = new Figures(Audit(split.Forget), Audit(split.Retain), trainer.KnnAccuracy(model));
            var unlearner = new Unlearner(model, settings, pretrain.Augmentation, device)
            {
                OnEpoch = e => console.WriteLine(
                    $"epoch {e.Epoch}: total {e.Total:F4}  train {e.Train:F4}  penalty {e.Penalty:F5}  norm {e.Norm:F4}  forget term {e.Forget:F4}  ({e.Seconds:F1} s)"),
            };
            var result = unlearner.Run(data.Train, split.Forget, split.ShadowNonMembers, retainIds: split.Retain);
            var after = new Figures(Audit(split.Forget), Audit(split.Retain), trainer.KnnAccuracy(model));

            Directory.CreateDirectory(folder);
            Checkpoint.Save(Path.Combine(folder, "unlearned.ckpt"), model, ContrastiveModels.Architecture(pretrain), pretrain.Epochs, settings.Seed, settings);
            LetheJson.WriteFile(Path.Combine(folder, "unlearning.json"), new { settings, pretrainRun = Path.GetFullPath(runFolder), forget = split.Forget.Length, result, before, after });

            var table = new Table().AddColumns("", "before", "after");
            table.AddRow("forget vs non-members: AUC view similarity head / backbone",
                $"{before.Forget.HeadSimilarityAuc:F3} / {before.Forget.BackboneSimilarityAuc:F3}", $"{after.Forget.HeadSimilarityAuc:F3} / {after.Forget.BackboneSimilarityAuc:F3}");
            table.AddRow("forget vs non-members: AUC confidence head / backbone",
                $"{before.Forget.HeadConfidenceAuc:F3} / {before.Forget.BackboneConfidenceAuc:F3}", $"{after.Forget.HeadConfidenceAuc:F3} / {after.Forget.BackboneConfidenceAuc:F3}");
            table.AddRow("retain vs non-members: AUC view similarity head",
                $"{before.Retain.HeadSimilarityAuc:F3}", $"{after.Retain.HeadSimilarityAuc:F3}");
            table.AddRow("kNN accuracy", $"{before.KnnAccuracy:P1}", $"{after.KnnAccuracy:P1}");
            console.Write(table);
            console.MarkupLineInterpolated($"{(result.Diverged ? "[red]diverged[/]" : "done")}: {result.StopReason}; {result.Seconds:F1} s. Wrote {Path.GetFullPath(folder)}.");
            return result.Diverged ? LetheCli.UserError : LetheCli.Ok;
        });
        return command;
    }

    /// <summary>Unlearning a supervised classifier: the supervised audit before and after, test accuracy.</summary>
    static int UnlearnClassifier(IAnsiConsole console, string runFolder, string? forgetIds, string? dataDir, string? outFolder, UnlearningSettings settings, TorchSharp.torch.Device device)
    {
        var target = Supervised.ClassifierRun.Open(runFolder, dataDir);
        if (forgetIds is { } idsFile)
            target = target with { Split = target.Split.WithForgetFile(idsFile) };
        var folder = outFolder ?? Path.Combine(runFolder, $"unlearn-{settings.Method}");
        var model = target.LoadModel(device);
        var audit = new AuditSettings { Seed = settings.Seed };
        console.MarkupLineInterpolated($"Unlearning {target.Split.Forget.Length} of {target.Split.Members.Length} members of classifier {Path.GetFullPath(target.FinalCheckpoint)} with {settings.Method} (lr {settings.LearningRate})");
        var before = ClassifierAudit.Run("before", model, target.Data, target.Split, audit, device);
        var unlearner = new Unlearner(new ClassifierTarget(model), settings, device)
        {
            OnEpoch = e => console.WriteLine($"epoch {e.Epoch}: total {e.Total:F4}  train {e.Train:F4}  penalty {e.Penalty:F5}  forget term {e.Forget:F4}  ({e.Seconds:F1} s)"),
        };
        var result = unlearner.Run(target.Data.Train, target.Split.Forget, target.Split.ShadowNonMembers, retainIds: target.Split.Retain);
        var after = ClassifierAudit.Run("after", model, target.Data, target.Split, audit, device);
        Directory.CreateDirectory(folder);
        Checkpoint.Save(Path.Combine(folder, "unlearned.ckpt"), model, Supervised.Classifier.Architecture(target.Settings.Encoder), target.Settings.Epochs, settings.Seed, settings);
        LetheJson.WriteFile(Path.Combine(folder, "unlearning.json"), new { settings, run = Path.GetFullPath(runFolder), forget = target.Split.Forget.Length, result, before, after });
        var table = new Table().AddColumns("", "before", "after");
        table.AddRow("forget vs non-members: AUC confidence / loss", $"{before.ForgetAttacks.Confidence.Auc:F3} / {before.ForgetAttacks.Loss.Auc:F3}", $"{after.ForgetAttacks.Confidence.Auc:F3} / {after.ForgetAttacks.Loss.Auc:F3}");
        table.AddRow("retain vs non-members: AUC confidence", $"{before.RetainAttacks.Confidence.Auc:F3}", $"{after.RetainAttacks.Confidence.Auc:F3}");
        table.AddRow("forget accuracy", $"{before.Diagnostics[0].Accuracy:P1}", $"{after.Diagnostics[0].Accuracy:P1}");
        table.AddRow("test accuracy", $"{before.TestAccuracy:P1}", $"{after.TestAccuracy:P1}");
        console.Write(table);
        console.MarkupLineInterpolated($"{(result.Diverged ? "[red]diverged[/]" : "done")}: {result.StopReason}; {result.Seconds:F1} s. Wrote {Path.GetFullPath(folder)}.");
        return result.Diverged ? LetheCli.UserError : LetheCli.Ok;
    }

    sealed record Figures(MembershipMonitorResult Forget, MembershipMonitorResult Retain, double KnnAccuracy);
}
