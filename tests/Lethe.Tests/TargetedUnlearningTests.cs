using Lethe.Data;
using Lethe.Models;
using Lethe.Training;
using Lethe.Unlearning;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Tests;

[Collection(TorchThreads.Name)]
public class TargetedUnlearningTests
{
    public TargetedUnlearningTests() => TorchThreads.One();

    static (Learner Model, Dataset Data, MembershipSplit Split) Setup(TempDir dir, string method) => UnlearnerTests.Setup(dir, method);

    static UnlearningSettings Targeted(bool classifier) => UnlearningMethods.UntunedDefaults("targeted", classifier) with { Epochs = 3, BatchSize = 8 };

    [Theory]
    [InlineData("simclr")]
    [InlineData("classifier")]
    public void TheAnchorIsZeroAtTheOriginalWeightsAndPositiveAfterAStepAway(string method)
    {
        using var dir = new TempDir();
        var (model, data, split) = Setup(dir, method);
        model.eval();
        using var unlearning = new TargetedUnlearning(model, Targeted(method == "classifier"));
        var retain = data.Train.Batch([.. split.Retain.Take(8)], CPU);
        using (var generator = new Generator(7))
            Assert.Equal(0, unlearning.Anchor(retain, generator).item<float>(), 6);
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.05);
        using (var generator = new Generator(7))
            Assert.True(unlearning.Anchor(retain, generator).item<float>() > 1e-4);
    }

    [Fact]
    public void PerSampleStoppingMarksExactlyTheSamplesAboveTheirTargetQuantile()
    {
        double[] nonMembers = [.. Enumerable.Range(0, 100).Select(i => (double)i)];
        // Percentiles among the non-members: 1.0, 0.105, 0.405, 0.755. Sorted, their targets are (k + 1/2) / 4:
        // 0.105 → 0.125, 0.405 → 0.375, 0.755 → 0.625, 1.0 → 0.875; a sample stands out above target + 0.05.
        double[] forget = [99.5, 10, 40, 75];
        Assert.Equal([true, false, false, true], PerSampleStop.StillStandingOut(forget, nonMembers));
        // Without tolerance 0.405 is above its 0.375.
        Assert.Equal([true, false, true, true], PerSampleStop.StillStandingOut(forget, nonMembers, tolerance: 0));
        // A forget set spread like the non-members has nothing left to push.
        Assert.All(PerSampleStop.StillStandingOut([12.5, 37.5, 62.5, 87.5], nonMembers), s => Assert.False(s));
    }

    [Fact]
    public void EveryForgetSampleAtItsTargetEndsTheRunBeforeAnyStep()
    {
        using var dir = new TempDir();
        var (model, data, split) = Setup(dir, "classifier");
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        // The forget set scored against itself (a classifier's score has no random views): each sample sits at its own quantile, so none stands out.
        var settings = Targeted(true);
        var result = new Unlearner(model, settings, CPU).Run(data.Train, split.Forget, split.Forget, retainIds: split.Retain);
        Assert.Empty(result.Epochs);
        Assert.Contains("no forgotten sample stands out", result.StopReason);
        foreach (var (name, value) in model.state_dict()) Assert.True(value.equal(before[name]).all().item<bool>(), name);
    }

    static Dictionary<string, Tensor> Statistics(Learner model) => model.named_modules().Where(m => m.module is BatchNorm)
        .SelectMany(m => new[] { ($"{m.name}.mean", ((BatchNorm)m.module).running_mean!.clone()), ($"{m.name}.var", ((BatchNorm)m.module).running_var!.clone()) })
        .ToDictionary(p => p.Item1, p => p.Item2);

    [Theory]
    [InlineData(BatchNormMode.Train)]
    [InlineData(BatchNormMode.Frozen)]
    [InlineData(BatchNormMode.Recalibrate)]
    public void BatchNormStatisticsChangeOrStayAsTheModeSays(BatchNormMode mode)
    {
        using var dir = new TempDir();
        var (model, data, split) = Setup(dir, "classifier");
        var before = Statistics(model);
        Assert.NotEmpty(before);
        var settings = Targeted(true) with { BatchNorm = mode, PerSampleStop = false, StopBelow = 0, Patience = 0 };
        new Unlearner(model, settings, CPU).Run(data.Train, split.Forget, split.ShadowNonMembers, retainIds: split.Retain);
        var after = Statistics(model);
        var unchanged = before.All(p => p.Value.equal(after[p.Key]).all().item<bool>());
        Assert.Equal(mode == BatchNormMode.Frozen, unchanged);
        if (mode != BatchNormMode.Recalibrate) return;
        // Re-estimated statistics are the plain average over the retained members' batches: doing it again on the same weights changes nothing.
        BatchNormStatistics.Reestimate(model, data.Train, split.Retain, settings.BatchSize, CPU);
        var again = Statistics(model);
        Assert.All(after, p => Assert.True(allclose(p.Value, again[p.Key], rtol: 1e-5, atol: 1e-6), p.Key));
    }

    [Fact]
    public void TheScoreTermLowersTheForgetSetsViewAgreementAndTheTermsAddUp()
    {
        using var dir = new TempDir();
        var (untrained, data, split) = Setup(dir, "simclr");
        untrained.Dispose();
        // A trained encoder: an untrained one maps every view of an image to nearly the same direction.
        var recipe = TrainingPresets.Get("tiny", "simclr") with { Dataset = "mnist" };
        Assert.True(new Trainer(recipe, data, split, dir.File("trained"), CPU).Run(false, default).Completed);
        using var model = TrainingRun.Open(dir.File("trained"), data: data).LoadModel(CPU);
        // The same views before and after: the agreement EncoderMI reads, on the head.
        double Agreement() => PerSampleStop.Scores(model, data.Train, split.Forget, seed: 5, CPU)[0].Average();
        var before = Agreement();
        var settings = Targeted(false) with { PerSampleStop = false, StopBelow = 0, Patience = 0, Epochs = 4, LearningRate = 1e-2 };
        var result = new Unlearner(model, settings, CPU).Run(data.Train, split.Forget, split.ShadowNonMembers, retainIds: split.Retain);
        Assert.Equal(4, result.Epochs.Count);
        Assert.True(Agreement() < before, $"{before} -> {Agreement()}");
        Assert.All(result.Epochs, e => Assert.Equal(0, e.Penalty));
        // The first step starts at the original weights, where the anchor is zero; later ones have moved away.
        Assert.True(result.Epochs[^1].Anchor > 0);
        Assert.All(result.Epochs, e => Assert.Equal(settings.Beta * e.Forget + settings.AnchorWeight * e.Anchor, e.Total, 4));
    }
}
