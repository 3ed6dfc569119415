using System.Text.Json;
using Lethe.Audits;
using Lethe.Storage;
using Lethe.Training;
using Lethe.Unlearning;

namespace Lethe.Tests;

[Collection(TorchThreads.Name)]
public class ForgetRequestTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void AnUnlearnedCheckpointAuditsWithNoOtherOptionAndGivesTheFiguresUnlearnPrinted()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 60, size: 12);
        var (code, _, error) = Run("pretrain", "--method", "moco", "--preset", "tiny", "--dataset", "mnist", "--data-dir", dir.Path, "--out", dir.File("run"));
        Assert.True(code == 0, error);
        var ids = dir.File("forget.txt");
        var split = Data.MembershipSplit.Load(dir.File("run/split.json"));
        File.WriteAllText(ids, string.Join("\n", split.Members.Take(5)));
        var (unlearn, _, unlearnError) = Run("unlearn", "--run", dir.File("run"), "--forget-ids", ids, "--data-dir", dir.Path, "--epochs", "2", "--batch-size", "4");
        Assert.True(unlearn == 0, unlearnError);

        var request = ForgetRequest.Find(dir.File("run/unlearn-memgp"))!;
        Assert.Equal(split.Members.Take(5), request.ForgetIds);
        Assert.Equal(Path.GetFullPath(dir.File("run")), request.ParentRun);
        Assert.Equal(Checkpoint.FileSha256(dir.File("run/final.ckpt")), request.ParentCheckpointSha256);
        Assert.Equal(Checkpoint.FileSha256(dir.File("run/unlearn-memgp/unlearned.ckpt")), request.CheckpointSha256);
        Assert.Equal(Checkpoint.FileSha256(ids), request.ForgetFileSha256);
        Assert.Equal("memgp", request.Settings.Method);
        Assert.Equal(2, request.Result.Epochs.Count);

        // The checkpoint alone: run and forget set come from unlearning.json.
        var (audit, _, auditError) = Run("audit", "--checkpoint", dir.File("run/unlearn-memgp/unlearned.ckpt"), "--data-dir", dir.Path, "--out", dir.File("again"));
        Assert.True(audit == 0, auditError);
        var printed = LetheJson.ReadFile<EncoderAuditReport>(dir.File("run/unlearn-memgp/audit/audit.json"), "audit");
        var again = LetheJson.ReadFile<EncoderAuditReport>(dir.File("again/audit.json"), "audit");
        Assert.Equal(5, again.Forget);
        Assert.Equal(printed.Head.ForgetEncoderMi.Threshold.Auc, again.Head.ForgetEncoderMi.Threshold.Auc);
        Assert.Equal(printed.Backbone.ForgetSupervised.Loss.Auc, again.Backbone.ForgetSupervised.Loss.Auc);
        Assert.Equal(printed.KnnAccuracy, again.KnnAccuracy);

        // A checkpoint changed after unlearning no longer matches its request.
        File.AppendAllText(dir.File("run/unlearn-memgp/unlearned.ckpt"), "x");
        var (tampered, _, tamperedError) = Run("audit", "--checkpoint", dir.File("run/unlearn-memgp/unlearned.ckpt"), "--data-dir", dir.Path);
        Assert.Equal(1, tampered);
        Assert.Contains("SHA-256 differs", tamperedError);
        // A run's own checkpoint names its run too; a lone file names nothing.
        Assert.Equal(0, Run("audit", "--checkpoint", dir.File("run/final.ckpt"), "--data-dir", dir.Path, "--no-linear-probe").Code);
        File.Copy(dir.File("run/final.ckpt"), dir.File("lone.ckpt"));
        var (lone, _, loneError) = Run("audit", "--checkpoint", dir.File("lone.ckpt"), "--data-dir", dir.Path);
        Assert.Equal(1, lone);
        Assert.Contains("give --run", loneError);
        // An unlearning.json of the two-stack layout: a one-line error, and --run still audits the checkpoint.
        Directory.CreateDirectory(dir.File("old"));
        File.Copy(dir.File("run/final.ckpt"), dir.File("old/unlearned.ckpt"));
        File.WriteAllText(dir.File("old/unlearning.json"), """{ "settings": { "method": "memgp" }, "pretrainRun": "/x", "forget": 6 }""");
        var (old, _, oldError) = Run("audit", "--checkpoint", dir.File("old/unlearned.ckpt"), "--data-dir", dir.Path);
        Assert.Equal(1, old);
        Assert.Contains("--run RUN", oldError);
        Assert.Equal(0, Run("audit", "--run", dir.File("run"), "--checkpoint", dir.File("old/unlearned.ckpt"), "--data-dir", dir.Path, "--no-linear-probe").Code);
    }

    [Fact]
    public void HelpListsEveryRegisteredMethodAndAttack()
    {
        var (code, output, _) = Run("unlearn", "--help");
        Assert.Equal(0, code);
        var flat = string.Join(" ", output.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
        foreach (var method in UnlearningMethods.All) Assert.Contains($"{method.Name}: {method.Summary}", flat);
        var (audit, auditOutput, _) = Run("audit", "--help");
        Assert.Equal(0, audit);
        var auditFlat = string.Join(" ", auditOutput.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
        foreach (var attack in MembershipAttacks.All) Assert.Contains($"{attack.DisplayName}: {attack.Summary}", auditFlat);
        var (pretrain, pretrainOutput, _) = Run("pretrain", "--help");
        Assert.Equal(0, pretrain);
        foreach (var learner in TrainingMethods.Names) Assert.Contains(learner, pretrainOutput);
    }

    [Fact]
    public void ARunFolderOfTheTwoStackLayoutStillLoads()
    {
        // Before the one learner stack, a classifier run's settings.json had no "method".
        using var dir = new TempDir();
        File.WriteAllText(dir.File("settings.json"), """
            { "dataset": "mnist", "trainOn": "members", "members": 48, "nonMembers": 24, "forgetFraction": 0.2,
              "encoder": { "architecture": "small-cnn", "width": 4, "featureDim": 32, "pooled": false, "headHidden": 256, "headDim": 128 },
              "epochs": 2, "batchSize": 8, "optimizer": "adam", "learningRate": 0.003, "momentum": 0.9, "weightDecay": 0,
              "evalEvery": 1, "checkpointEvery": 1, "monitorSamples": 16, "seed": 2 }
            """);
        var settings = TrainingRun.ReadSettings(dir.Path);
        Assert.Equal("classifier", settings.Method);
        Assert.False(settings.IsEncoder);
        Assert.Equal("classifier/small-cnn", settings.Architecture);
        Assert.Equal((48, 2, 4), (settings.Members, settings.Epochs, settings.Encoder.Width));

        File.WriteAllText(dir.File("settings.json"), "{ \"method\": \"vae\" }");
        Assert.Contains("unknown method 'vae'", Assert.Throws<LetheException>(() => TrainingRun.ReadSettings(dir.Path)).Message);
    }

    [Fact]
    public void AForgetRequestOfAnotherFormatGivesAOneLineError()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(ForgetRequest.FileName), JsonSerializer.Serialize(new { settings = new { method = "memgp" }, pretrainRun = "/x", forget = 3 }));
        var e = Assert.ThrowsAny<LetheException>(() => ForgetRequest.Find(dir.Path));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("--run", e.Message);
    }
}
