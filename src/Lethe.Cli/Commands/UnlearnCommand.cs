using System.CommandLine;
using Lethe.Audits;
using Lethe.Runtime;
using Lethe.Training;
using Lethe.Unlearning;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>
/// `lethe unlearn`: answers a forget request on a trained encoder or classifier with any registered method, audits the
/// model before and after, and writes unlearned.ckpt, unlearning.json and the after-audit (the one `lethe audit
/// --checkpoint OUT/unlearned.ckpt` gives).
/// </summary>
public static class UnlearnCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var run = new Option<string>("--run") { Description = "Training run folder (its settings.json, split.json and final.ckpt)", Required = true };
        var forgetIds = new Option<string?>("--forget-ids") { Description = "File of training-split ids to forget instead of the split's forget set" };
        var forgetList = CommonOptions.ForgetList();
        var dataDir = CommonOptions.DataDir();
        var defaults = new UnlearningSettings();
        var method = new Option<string>("--method", "-m")
        {
            Description = $"The unlearning method. {UnlearningMethods.Help()}",
            DefaultValueFactory = _ => defaults.Method,
        };
        var ascentWeight = new Option<double>("--ascent-weight") { Description = "NegGrad+: weight of the ascent on the forget set", DefaultValueFactory = _ => defaults.AscentWeight };
        var alignmentWeight = new Option<double?>("--alignment-weight") { Description = "Alignment Calibration: weight of the forget set's view alignment (default 2)" };
        var alpha = new Option<double?>("--alpha") { Description = "Weight of L_MEMtrain (0 switches it off; default: the method's, 1, or 0 for targeted)" };
        var beta = new Option<double?>("--beta") { Description = "Weight of the gradient penalty (targeted: of its forget term; default 1)" };
        var anchorWeight = new Option<double?>("--anchor-weight") { Description = "Targeted: weight of the anchor on retained members and non-members (default 1)" };
        var forgetTerm = new Option<ForgetTerm?>("--forget-term") { Description = "Targeted: what lowers the forget samples' signal, score (the attack's own score) or penalty (the gradient penalty); default score on encoders, penalty on classifiers" };
        var perSampleStop = new Option<bool?>("--per-sample-stop") { Description = "Targeted: stop each forget sample at its share of the calibration non-members (default true)" };
        var batchNorm = new Option<BatchNormMode?>("--batch-norm") { Description = "Batch norm while unlearning: train, frozen or recalibrate (default: frozen for targeted, train otherwise)" };
        var gamma = new Option<double?>("--gamma") { Description = "Weight of L_Norm (gp only; default 1, as in the paper's eq. 2)" };
        var epochs = new Option<int?>("--epochs") { Description = "At most this many epochs (default: the method's tuned or hand-set one)" };
        var batch = new Option<int?>("--batch-size") { Description = "Forget samples per step (default: the method's, 64, or 16 for targeted)" };
        var lr = new Option<double?>("--lr") { Description = "Adam learning rate (default: the method's tuned one, docs/tuning.md, or else its hand-set one, docs/baselines.md)" };
        var output = new Option<string>("--output") { Description = "D: head or backbone", DefaultValueFactory = _ => defaults.Output };
        var seed = new Option<long>("--seed") { Description = "Seed of the order and augmentations", DefaultValueFactory = _ => 0 };
        var outFolder = new Option<string?>("--out", "-o") { Description = "Where to write unlearned.ckpt, unlearning.json and audit/ (default RUN/unlearn-METHOD)" };
        var command = new Command("unlearn", "Make a trained encoder or classifier forget its forget set, audited before and after")
        {
            run, forgetIds, forgetList, dataDir, method, alpha, beta, gamma, ascentWeight, alignmentWeight, anchorWeight, forgetTerm, perSampleStop, batchNorm, epochs, batch, lr, output, seed, outFolder,
        };
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var target = TrainingRun.Open(parse.GetValue(run)!, parse.GetValue(dataDir));
            var split = CommonOptions.WithForget(target.Split, target.Data, parse.GetValue(forgetList), parse.GetValue(forgetIds));
            var classifier = !target.Settings.IsEncoder;
            var info = UnlearningMethods.Get(parse.GetValue(method)!);
            if (!info.WorksOn(classifier))
                throw new LetheException($"{info.Name} works on {(classifier ? "contrastive encoders" : "classifiers")} only: {target.Folder} holds a {target.Settings.Method} run");
            var methodDefaults = UnlearningMethods.Defaults(info.Name, classifier);
            var settings = methodDefaults with
            {
                Alpha = parse.GetValue(alpha) ?? methodDefaults.Alpha,
                Beta = parse.GetValue(beta) ?? methodDefaults.Beta,
                AnchorWeight = parse.GetValue(anchorWeight) ?? methodDefaults.AnchorWeight,
                ForgetTerm = parse.GetValue(forgetTerm) ?? methodDefaults.ForgetTerm,
                PerSampleStop = parse.GetValue(perSampleStop) ?? methodDefaults.PerSampleStop,
                BatchNorm = parse.GetValue(batchNorm) ?? methodDefaults.BatchNorm,
                Gamma = parse.GetValue(gamma) ?? methodDefaults.Gamma,
                AscentWeight = parse.GetValue(ascentWeight),
                AlignmentWeight = parse.GetValue(alignmentWeight) ?? methodDefaults.AlignmentWeight,
                Epochs = parse.GetValue(epochs) ?? methodDefaults.Epochs,
                BatchSize = parse.GetValue(batch) ?? methodDefaults.BatchSize,
                LearningRate = parse.GetValue(lr) ?? methodDefaults.LearningRate,
                Output = parse.GetValue(output)!,
                Seed = parse.GetValue(seed),
            };
            settings.Validate();
            var folder = parse.GetValue(outFolder) ?? Path.Combine(target.Folder, $"unlearn-{settings.Method}");
            // The audit's defaults, so that `lethe audit --checkpoint` reports the same figures for the same model.
            var audit = new AuditSettings();

            console.MarkupLineInterpolated($"Unlearning {split.Forget.Length} of {split.Members.Length} members of {Path.GetFullPath(target.FinalCheckpoint)} ({target.Settings.Method}) with {info.DisplayName} (alpha {settings.Alpha}, beta {settings.Beta}, gamma {settings.Gamma}, lr {settings.LearningRate}, D = {settings.Output})");
            IAuditReport before;
            using (var original = target.LoadModel(device)) before = Audit.Run("before", original, target.Data, split, audit, device);
            using var cancel = new GracefulStop(console, "Stopping after this epoch; nothing is written");
            var (model, request) = ForgetRequest.Fulfil(target, split, settings, folder, device,
                e => console.WriteLine($"epoch {e.Epoch}: total {e.Total:F4}  train {e.Train:F4}  penalty {e.Penalty:F5}  norm {e.Norm:F4}  forget term {e.Forget:F4}  anchor {e.Anchor:F4}{(e.Active is { } a ? $"  standing out {a}" : "")}  ({e.Seconds:F1} s)"),
                cancel.Token);
            using (model)
            {
                if (cancel.Token.IsCancellationRequested)
                {
                    console.MarkupLine("[yellow]stopped: nothing was written[/]");
                    return 130;
                }
                var after = Audit.Run(Path.GetFullPath(request.CheckpointPath(folder)), model, target.Data, split, audit, device);
                Audit.Write(after, Path.Combine(folder, "audit"));
                AuditCommand.Show(console, [("before", before), ("after", after)]);
            }
            var result = request.Result;
            console.MarkupLineInterpolated($"{(result.Diverged ? "[red]diverged[/]" : "done")}: {result.StopReason}; {result.Seconds:F1} s. Wrote {Path.GetFullPath(folder)} (unlearned.ckpt, unlearning.json, audit/).");
            return result.Diverged ? LetheCli.UserError : LetheCli.Ok;
        });
        return command;
    }
}
