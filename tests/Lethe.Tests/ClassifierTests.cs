using Lethe.Audits;
using Lethe.Data;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using static TorchSharp.torch;

namespace Lethe.Tests;

[Collection(TorchThreads.Name)]
public class ClassifierTests
{
    public ClassifierTests() => TorchThreads.One();

    static (Dataset Data, MembershipSplit Split) Setup(TempDir dir)
    {
        TorchRuntime.EnsureLoaded();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 60, size: 12);
        var data = Datasets.Load(DatasetKind.Mnist, dir.Path);
        var split = MembershipSplit.Create(new SplitSettings { Members = 48, NonMembers = 24, ShadowMembers = 24, ShadowNonMembers = 24, Seed = 2 },
            data.Name, data.Train.Count, data.Test.Count);
        return (data, split);
    }

    static TrainingSettings Tiny(int epochs) => TrainingPresets.Get("tiny", "classifier") with { Dataset = "mnist", Epochs = epochs, BatchSize = 8, LearningRate = 3e-3 };

    [Fact]
    public void TrainingFitsTheMembersAndRepeatsUnderOneSeed()
    {
        using var dir = new TempDir();
        var (data, split) = Setup(dir);
        var first = new Trainer(Tiny(8), data, split, dir.File("a"), CPU).Run(resume: false);
        var metrics = new RunFolder(dir.File("a")).ReadMetrics<EpochMetrics>();
        Assert.True(first.Completed);
        Assert.True(metrics[^1].Loss < metrics[0].Loss * 0.9, string.Join(", ", metrics.Select(m => m.Loss)));
        Assert.NotNull(first.LastEvaluation?.Membership);
        new Trainer(Tiny(8), data, split, dir.File("b"), CPU).Run(resume: false);
        Assert.Equal(metrics.Select(m => m.Loss), new RunFolder(dir.File("b")).ReadMetrics<EpochMetrics>().Select(m => m.Loss));
    }

    [Fact]
    public void AResumedRunEndsWithTheWeightsOfAnUninterruptedOne()
    {
        using var dir = new TempDir();
        var (data, split) = Setup(dir);
        var settings = Tiny(4) with { Augmentation = AugmentationSettings.Weak };
        new Trainer(settings, data, split, dir.File("whole"), CPU).Run(resume: false);
        using var cancel = new CancellationTokenSource();
        var stopping = new Trainer(settings, data, split, dir.File("parts"), CPU) { OnEpoch = m => { if (m.Epoch == 2) cancel.Cancel(); } };
        var stopped = stopping.Run(resume: false, cancel.Token);
        Assert.False(stopped.Completed);
        Assert.Equal(2, stopped.Epoch);
        Assert.True(new Trainer(settings, data, split, dir.File("parts"), CPU).Run(resume: true).Completed);

        var architecture = settings.Architecture;
        var whole = TrainingRun.Build(settings, data, CPU);
        var parts = TrainingRun.Build(settings, data, CPU);
        Checkpoint.Load(dir.File("whole/final.ckpt"), whole, architecture);
        Checkpoint.Load(dir.File("parts/final.ckpt"), parts, architecture);
        foreach (var ((_, a), (_, b)) in whole.state_dict().Zip(parts.state_dict()))
            Assert.True(a.eq(b).all().item<bool>());
        Assert.Equal(4, new RunFolder(dir.File("parts")).ReadMetrics<EpochMetrics>().Count);
    }

    [Fact]
    public void ClassifierSignalsAreTheSoftmaxItsEntropyAndTheCrossEntropy()
    {
        using var dir = new TempDir();
        var (data, split) = Setup(dir);
        var model = new Trainer(Tiny(1), data, split, dir.File("run"), CPU).CreateModel();
        int[] ids = [split.Members[0], split.Members[1]];
        var signals = ClassifierSignals.Compute(model, data.Train, ids, topK: 3, CPU);
        model.eval();
        using var noGrad = no_grad();
        var logits = model.forward(data.Train.Batch(ids)).to(ScalarType.Float64).data<double>().ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            var row = logits.AsSpan(i * 10, 10).ToArray();
            var max = row.Max();
            var z = row.Sum(v => Math.Exp(v - max));
            var p = row.Select(v => Math.Exp(v - max) / z).ToArray();
            Assert.Equal(p.OrderDescending().Take(3), signals.TopProbabilities[i], new ToleranceComparer(1e-5));
            Assert.Equal(-p.Sum(q => q * Math.Log(q)), signals.Entropy[i], 4);
            Assert.Equal(-Math.Log(p[data.Train.Labels[ids[i]]]), signals.Loss[i], 4);
        }
    }

    [Fact]
    public void TrainCommandTrainsAndGuardsReferences()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 60, size: 12);
        var (code, output, error) = CliRunner.Run("train", "--preset", "tiny", "--dataset", "mnist", "--data-dir", dir.Path, "--out", dir.File("run"));
        Assert.True(code == 0, error);
        Assert.Contains("AUC confidence", output);
        Assert.True(File.Exists(dir.File("run/final.ckpt")));
        var (retrain, retrainOutput, retrainError) = CliRunner.Run("train", "--retrain-of", dir.File("run"), "--data-dir", dir.Path);
        Assert.True(retrain == 0, retrainError);
        Assert.Contains("26 retain", retrainOutput);
        var (mixed, _, mixedError) = CliRunner.Run("train", "--shadow-of", dir.File("run"), "--epochs", "3", "--data-dir", dir.Path);
        Assert.Equal(1, mixed);
        Assert.Contains("drop --epochs", mixedError);
        var (again, _, againError) = CliRunner.Run("train", "--preset", "tiny", "--dataset", "mnist", "--data-dir", dir.Path, "--out", dir.File("run"));
        Assert.Equal(1, again);
        Assert.Contains("already holds a run", againError);
    }

    sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}

[Collection(TorchThreads.Name)]
public class ClassifierAuditTests
{
    [Fact]
    public void AuditAndUnlearnWorkOnClassifierRuns()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 60, size: 12);
        var (code, _, error) = CliRunner.Run("train", "--preset", "tiny", "--dataset", "mnist", "--data-dir", dir.Path, "--out", dir.File("run"));
        Assert.True(code == 0, error);
        var (audit, auditOutput, auditError) = CliRunner.Run("audit", "--run", dir.File("run"), "--data-dir", dir.Path);
        Assert.True(audit == 0, auditError);
        Assert.Contains("supervised membership inference", auditOutput);
        var report = LetheJson.ReadFile<ClassifierAuditReport>(dir.File("run/audit/audit.json"), "audit");
        Assert.Equal(6, report.Forget);
        Assert.Equal(["forget", "retain", "non-members"], report.Diagnostics.Select(d => d.Group));
        Assert.Equal(report.Forget, report.ForgetAttacks.Confidence.Members);
        foreach (var section in new[] { "## Membership inference", "## Per-sample diagnostics", "test accuracy" })
            Assert.Contains(section, File.ReadAllText(dir.File("run/audit/audit.md")));

        var (unlearn, unlearnOutput, unlearnError) = CliRunner.Run("unlearn", "--run", dir.File("run"), "--method", "random-labels", "--epochs", "2", "--batch-size", "4", "--data-dir", dir.Path);
        Assert.True(unlearn == 0, unlearnError);
        Assert.Contains("test accuracy", unlearnOutput);
        Assert.True(File.Exists(dir.File("run/unlearn-random-labels/unlearned.ckpt")));
        var (after, _, afterError) = CliRunner.Run("audit", "--run", dir.File("run"), "--checkpoint", dir.File("run/unlearn-random-labels/unlearned.ckpt"), "--data-dir", dir.Path);
        Assert.True(after == 0, afterError);
        var (wrong, _, wrongError) = CliRunner.Run("unlearn", "--run", dir.File("run"), "--method", "alignment", "--data-dir", dir.Path);
        Assert.Equal(1, wrong);
        Assert.Contains("contrastive encoders", wrongError);
    }
}
