using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using static TorchSharp.torch;

namespace Lethe.Tests;

[Collection(TorchThreads.Name)]
public class TrainerTests
{
    public TrainerTests() => TorchThreads.One();

    static (Dataset Data, MembershipSplit Split) TinyData(TempDir dir)
    {
        TorchRuntime.EnsureLoaded();
        TestFiles.MnistFolder(dir.Path, trainCount: 80, testCount: 40, size: 12);
        var data = Datasets.Load(DatasetKind.Mnist, dir.Path);
        var split = MembershipSplit.Create(new SplitSettings { Members = 32, NonMembers = 16, ShadowMembers = 0, ShadowNonMembers = 0, Seed = 3 },
            data.Name, data.Train.Count, data.Test.Count);
        return (data, split);
    }

    static TrainingSettings Tiny(string method, int epochs) => TrainingPresets.Get("tiny", method) with
    {
        Dataset = "mnist",
        Epochs = epochs,
        BatchSize = 16,
        QueueSize = 16,
        LearningRate = 3e-3,
        EvalEvery = 100,
        CheckpointEvery = 2,
        Augmentation = AugmentationSettings.Weak,
        LinearProbeEpochs = 5,
    };

    static List<EpochMetrics> Metrics(string folder) => new RunFolder(folder).ReadMetrics<EpochMetrics>();

    [Theory]
    [InlineData("simclr")]
    [InlineData("moco")]
    [InlineData("byol")]
    [InlineData("classifier")]
    public void TrainingLowersTheLossAndRepeatsUnderTheSameSeed(string method)
    {
        using var dir = new TempDir();
        var (data, split) = TinyData(dir);
        var settings = Tiny(method, epochs: 8);
        List<double> Losses(string folder)
        {
            new Trainer(settings, data, split, dir.File(folder), CPU).Run(resume: false);
            return Metrics(dir.File(folder)).Select(m => m.Loss).ToList();
        }
        var first = Losses("a");
        var second = Losses("b");
        Assert.Equal(8, first.Count);
        // Epoch 1 is left out: MoCo's first steps meet a queue of random (easy) negatives.
        Assert.True(first.Skip(6).Average() < first.Skip(1).Take(2).Average(), $"{method} losses did not fall: {string.Join(", ", first)}");
        Assert.Equal(first, second);
    }

    [Theory]
    [InlineData("simclr")]
    [InlineData("moco")]
    [InlineData("byol")]
    public void ResumingAfterAStopEndsWithTheWeightsOfAnUninterruptedRun(string method)
    {
        using var dir = new TempDir();
        var (data, split) = TinyData(dir);
        var settings = Tiny(method, epochs: 4);
        new Trainer(settings, data, split, dir.File("whole"), CPU).Run(resume: false);

        using var cancel = new CancellationTokenSource();
        var stopped = new Trainer(settings, data, split, dir.File("parts"), CPU)
        {
            OnEpoch = m => { if (m.Epoch == 1) cancel.Cancel(); },
        }.Run(resume: false, cancel.Token);
        Assert.False(stopped.Completed);
        Assert.Equal(1, stopped.Epoch);
        var resumed = new Trainer(settings, data, split, dir.File("parts"), CPU).Run(resume: true);
        Assert.True(resumed.Completed);

        var architecture = settings.Architecture;
        var trainer = new Trainer(settings, data, split, dir.File("check"), CPU);
        var whole = trainer.CreateModel();
        var parts = trainer.CreateModel();
        Checkpoint.Load(dir.File("whole/final.ckpt"), whole, architecture);
        Checkpoint.Load(dir.File("parts/final.ckpt"), parts, architecture);
        var partsState = parts.state_dict();
        foreach (var (name, value) in whole.state_dict())
            Assert.True(value.equal(partsState[name]).all().item<bool>(), $"{method}: {name} differs after resuming");
        Assert.Equal(
            Metrics(dir.File("whole")).Select(m => m.Loss),
            Metrics(dir.File("parts")).Select(m => m.Loss));
    }

    [Theory]
    [InlineData("simclr")]
    [InlineData("moco")]
    [InlineData("byol")]
    public void OverfitPresetIsTheMeasuredRecipe(string method)
    {
        // docs/overfit-preset.md reports runs of exactly these settings; change both together.
        var s = TrainingPresets.Get("overfit", method);
        Assert.Equal((256, 4096, 600, 64, 0.1, 1e-3), (s.Members, s.NonMembers, s.Epochs, s.BatchSize, s.Temperature, s.LearningRate));
        Assert.Equal((32, 256, false), (s.Encoder.Width, s.Encoder.FeatureDim, s.Encoder.Pooled));
        Assert.Equal(AugmentationSettings.Weak, s.Augmentation);
        Assert.Equal((1024, 50), (s.QueueSize, s.EvalEvery));
    }

    [Fact]
    public void ANonFiniteLossStopsWithAClearError()
    {
        using var dir = new TempDir();
        var (data, split) = TinyData(dir);
        var settings = Tiny("simclr", epochs: 3) with { LearningRate = 1e30 };
        var e = Assert.Throws<LetheException>(() => new Trainer(settings, data, split, dir.File("run"), CPU).Run(resume: false));
        Assert.Contains("the loss became", e.Message);
    }

    [Fact]
    public void EvaluationReportsKnnAndMembershipFigures()
    {
        using var dir = new TempDir();
        var (data, split) = TinyData(dir);
        var settings = Tiny("simclr", epochs: 2) with { EvalEvery = 1 };
        var result = new Trainer(settings, data, split, dir.File("run"), CPU).Run(resume: false);
        var metrics = Metrics(dir.File("run"));
        Assert.All(metrics, m => Assert.InRange(m.KnnAccuracy!.Value, 0, 1));
        Assert.All(metrics, m => Assert.InRange(m.Membership!.HeadSimilarityAuc!.Value, 0, 1));
        Assert.InRange(result.LinearProbeAccuracy!.Value, 0, 1);
        Assert.True(File.Exists(dir.File("run/settings.json")));
        Assert.Equal(split.Members, MembershipSplit.Load(dir.File("run/split.json")).Members);
    }
}
