using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Training;
using Lethe.Unlearning;
using static TorchSharp.torch;

namespace Lethe.Tests;

[Collection(TorchThreads.Name)]
public class UnlearnerTests
{
    public UnlearnerTests() => TorchThreads.One();

    internal static (Learner Model, Dataset Data, MembershipSplit Split) Setup(TempDir dir, string method = "simclr")
    {
        TorchRuntime.EnsureLoaded();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 40, size: 12);
        var data = Datasets.Load(DatasetKind.Mnist, dir.Path);
        var split = MembershipSplit.Create(new SplitSettings { Members = 32, NonMembers = 16, ShadowMembers = 16, ShadowNonMembers = 16, Seed = 1 },
            data.Name, data.Train.Count, data.Test.Count);
        var settings = TrainingPresets.Get("tiny", method) with { Dataset = "mnist", QueueSize = 16 };
        var model = new Trainer(settings, data, split, dir.File("run"), CPU).CreateModel();
        return (model, data, split);
    }

    public static TheoryData<string, double, double, double> Ablations => new()
    {
        { "memgp", 1, 1, 0 }, { "memgp", 0, 1, 0 }, { "memgp", 1, 0, 0 },
        { "gp", 0, 0, 1 }, { "gp", 0, 1, 0 }, { "gp", 1, 0, 0 }, { "gp", 0, 1, 1 }, { "gp", 1, 1, 0 }, { "gp", 1, 0, 1 }, { "gp", 1, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Ablations))]
    public void EveryAblationRunsAndReportsItsTerms(string method, double alpha, double beta, double gamma)
    {
        using var dir = new TempDir();
        var (model, data, split) = Setup(dir);
        var settings = new UnlearningSettings { Method = method, Alpha = alpha, Beta = beta, Gamma = gamma, Epochs = 2, BatchSize = 8, StopBelow = 0, Patience = 0 };
        var result = new Unlearner(model, settings, CPU).Run(data.Train, split.Forget, split.ShadowNonMembers);
        Assert.Equal(2, result.Epochs.Count);
        Assert.False(result.Diverged);
        var last = result.Epochs[^1];
        Assert.Equal(alpha > 0, last.Train != 0);
        Assert.Equal(beta > 0, last.Penalty != 0);
        Assert.Equal(gamma > 0, last.Norm != 0);
        Assert.Equal(alpha * last.Train + beta * last.Penalty + gamma * last.Norm, last.Total, 4);
    }

    [Fact]
    public void MemGpStepsLowerThePenalty()
    {
        using var dir = new TempDir();
        var (model, data, split) = Setup(dir);
        var settings = new UnlearningSettings { Alpha = 0, Beta = 1, Epochs = 6, BatchSize = 8, LearningRate = 3e-3, StopBelow = 0, Patience = 0 };
        var result = new Unlearner(model, settings, CPU).Run(data.Train, split.Forget);
        Assert.True(result.Epochs[^1].Penalty < result.Epochs[0].Penalty, string.Join(", ", result.Epochs.Select(e => e.Penalty)));
    }

    [Fact]
    public void ANonFiniteLossRestoresTheLastGoodWeightsAndStops()
    {
        using var dir = new TempDir();
        var (model, data, split) = Setup(dir);
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var settings = new UnlearningSettings { Method = "gp", Alpha = 0, Beta = 0, Gamma = 1, Epochs = 3, BatchSize = 4, LearningRate = 1e30, StopBelow = 0, Patience = 0 };
        var result = new Unlearner(model, settings, CPU).Run(data.Train, split.Forget, split.ShadowNonMembers);
        Assert.True(result.Diverged, result.StopReason);
        Assert.Contains("the loss became", result.StopReason);
        Assert.Empty(result.Epochs);
        foreach (var (name, value) in model.state_dict())
            Assert.True(value.equal(before[name]).all().item<bool>(), $"{name} was not restored");
    }

    [Fact]
    public void StoppingRuleEndsTheRunOnceThePenaltyIsTiny()
    {
        using var dir = new TempDir();
        var (model, data, split) = Setup(dir);
        var settings = new UnlearningSettings { Alpha = 0, Beta = 1, Epochs = 5, BatchSize = 8, StopBelow = 1e9 };
        var result = new Unlearner(model, settings, CPU).Run(data.Train, split.Forget);
        Assert.Single(result.Epochs);
        Assert.Contains("fell below", result.StopReason);
    }

    [Fact]
    public void MoCosKeyEncoderFollowsDuringUnlearningAndByolsTargetStaysFrozen()
    {
        // Unlearning continues the training schedule where it ended: MoCo's momentum is constant, BYOL's tau has reached 1.
        foreach (var (method, moves) in new[] { ("moco", true), ("byol", false) })
        {
            using var dir = new TempDir();
            var (model, data, split) = Setup(dir, method);
            var copy = method == "moco" ? "key_backbone." : "target_backbone.";
            // Parameters only: the copy's batch-norm statistics follow its own forward passes in training mode.
            Dictionary<string, Tensor> Copy() => model.named_parameters().Where(p => p.name.StartsWith(copy, StringComparison.Ordinal)).ToDictionary(p => p.name, p => p.parameter.detach().clone());
            var before = Copy();
            Assert.NotEmpty(before);
            new Unlearner(model, new UnlearningSettings { Epochs = 1, BatchSize = 4, StopBelow = 0, Patience = 0 }, CPU).Run(data.Train, split.Forget);
            var changed = Copy().Any(p => !p.Value.equal(before[p.Key]).all().item<bool>());
            Assert.True(changed == moves, $"{method}: the momentum copy {(moves ? "did not move" : "moved")}");
        }
    }

    [Fact]
    public void InvalidSettingsAreRejected()
    {
        Assert.Contains("switched off", Assert.Throws<LetheException>(() => new UnlearningSettings { Alpha = 0, Beta = 0 }.Validate()).Message);
        Assert.Contains("no L_Norm", Assert.Throws<LetheException>(() => new UnlearningSettings { Gamma = 1 }.Validate()).Message);
        Assert.Contains("unknown unlearning method", Assert.Throws<LetheException>(() => new UnlearningSettings { Method = "x" }.Validate()).Message);
    }
}

[Collection(TorchThreads.Name)]
public class BaselineTests
{
    public BaselineTests() => TorchThreads.One();

    /// <param name="augmentation">The encoder's augmentation, which its training loss (and so the baselines) uses; none makes the loss deterministic.</param>
    static (Learner Model, Dataset Data, MembershipSplit Split) Encoder(TempDir dir, string method = "simclr", AugmentationSettings? augmentation = null)
    {
        TorchRuntime.EnsureLoaded();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 40, size: 12);
        var data = Datasets.Load(DatasetKind.Mnist, dir.Path);
        var split = MembershipSplit.Create(new SplitSettings { Members = 40, NonMembers = 16, ShadowMembers = 16, ShadowNonMembers = 16, Seed = 1 },
            data.Name, data.Train.Count, data.Test.Count);
        var settings = TrainingPresets.Get("tiny", method) with { Dataset = "mnist", QueueSize = 16, Augmentation = augmentation ?? AugmentationSettings.None };
        return (new Trainer(settings, data, split, dir.File("run"), CPU).CreateModel(), data, split);
    }

    static UnlearningSettings Settings(string method, int epochs = 4) => new() { Method = method, Epochs = epochs, BatchSize = 8, LearningRate = 3e-3 };

    static double TrainLoss(Learner target, Dataset data, IReadOnlyList<int> ids)
    {
        using var noGrad = no_grad();
        using var generator = new Generator(5);
        target.train();
        return target.TrainingLoss(data.Train.Batch(ids.ToArray()), data.Train.LabelBatch(ids.ToArray()), generator).Loss.item<float>();
    }

    [Fact]
    public void NegGradRaisesTheForgetLossAndFineTuneLowersTheRetainLoss()
    {
        using var dir = new TempDir();
        var (target, data, split) = Encoder(dir);
        var forgetBefore = TrainLoss(target, data, split.Forget);
        new Unlearner(target, Settings("neggrad"), CPU).Run(data.Train, split.Forget);
        Assert.True(TrainLoss(target, data, split.Forget) > forgetBefore);

        using var dir2 = new TempDir();
        var (target2, data2, split2) = Encoder(dir2);
        var retainBefore = TrainLoss(target2, data2, split2.Retain);
        var result = new Unlearner(target2, Settings("finetune"), CPU).Run(data2.Train, split2.Forget, retainIds: split2.Retain);
        Assert.True(TrainLoss(target2, data2, split2.Retain) < retainBefore);
        // An epoch of fine-tuning is a pass over the retained members (32 of them, batch 8).
        Assert.Equal(4, result.Epochs.Count);
    }

    [Fact]
    public void NegGradPlusAscendsOnForgetAndDescendsOnRetain()
    {
        using var dir = new TempDir();
        var (target, data, split) = Encoder(dir);
        var result = new Unlearner(target, Settings("neggrad+", epochs: 3), CPU).Run(data.Train, split.Forget, retainIds: split.Retain);
        var first = result.Epochs[0];
        Assert.Equal(first.Train - first.Forget, first.Total, 4);
        Assert.Throws<LetheException>(() => new Unlearner(target, Settings("neggrad+"), CPU).Run(data.Train, split.Forget));
    }

    [Fact]
    public void AlignmentCalibrationLowersTheForgetSetsViewAlignment()
    {
        using var dir = new TempDir();
        var (target, data, split) = Encoder(dir, augmentation: AugmentationSettings.Weak);
        var result = new Unlearner(target, Settings("alignment", epochs: 6) with { AlignmentWeight = 5 }, CPU).Run(data.Train, split.Forget, retainIds: split.Retain);
        Assert.True(result.Epochs[^1].Forget < result.Epochs[0].Forget, string.Join(", ", result.Epochs.Select(e => e.Forget)));
    }

    [Fact]
    public void RandomLabelsNeverAssignTheTrueLabelAndNeedAClassifier()
    {
        TorchRuntime.EnsureLoaded();
        using var generator = new Generator(3);
        var labels = tensor(Enumerable.Range(0, 1000).Select(i => (long)(i % 10)).ToArray());
        var wrong = RandomLabelUnlearning.WrongLabels(labels, 10, generator);
        Assert.False(wrong.eq(labels).any().item<bool>());
        Assert.True(wrong.ge(0).all().item<bool>() && wrong.lt(10).all().item<bool>());
        Assert.Equal(10, wrong.unique().Item1.shape[0]);

        using var dir = new TempDir();
        var (model, _, _) = Encoder(dir);
        Assert.Throws<LetheException>(() => new Unlearner(model, Settings("random-labels"), CPU));
    }

    [Fact]
    public void ClassifierBaselinesMoveTheForgetLossTheIntendedWay()
    {
        using var dir = new TempDir();
        TorchRuntime.EnsureLoaded();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 40, size: 12);
        var data = Datasets.Load(DatasetKind.Mnist, dir.Path);
        var split = MembershipSplit.Create(new SplitSettings { Members = 40, NonMembers = 16, ShadowMembers = 16, ShadowNonMembers = 16, Seed = 1 },
            data.Name, data.Train.Count, data.Test.Count);
        var recipe = TrainingPresets.Get("tiny", "classifier") with { Dataset = "mnist" };
        foreach (var method in new[] { "random-labels", "neggrad", "memgp" })
        {
            var target = new Trainer(recipe, data, split, dir.File("run"), CPU).CreateModel();
            var before = TrainLoss(target, data, split.Forget);
            var result = new Unlearner(target, Settings(method), CPU).Run(data.Train, split.Forget);
            Assert.False(result.Diverged);
            if (method != "memgp") Assert.True(TrainLoss(target, data, split.Forget) > before, method);
            else Assert.True(result.Epochs[^1].Penalty < result.Epochs[0].Penalty, string.Join(", ", result.Epochs.Select(e => e.Penalty)));
        }
        Assert.Throws<LetheException>(() => new Unlearner(new Trainer(recipe, data, split, dir.File("run"), CPU).CreateModel(), Settings("alignment"), CPU));
    }
}
