using Lethe.Audits;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Runtime;
using Lethe.Training;
using static TorchSharp.torch;

namespace Lethe.Tests;

public class AuditTests
{
    static OutputSignals Synthetic(Random random, int count, double similarity, double confidence, int views = 5)
    {
        var pairs = views * (views - 1) / 2;
        var sorted = Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, pairs).Select(_ => similarity + 0.05 * random.NextDouble()).OrderDescending().ToArray()).ToArray();
        var top = Enumerable.Range(0, count).Select(_ => new[] { confidence + 0.05 * random.NextDouble(), 0.05, 0.01 }).ToArray();
        var prediction = new PredictionSignals(top, [.. top.Select(t => 1 - t[0])], [.. top.Select(t => -Math.Log(t[0]))]);
        return new OutputSignals([.. sorted.Select(s => s.Average())], sorted, prediction, [.. Enumerable.Range(0, count).Select(_ => new float[] { 0, 1 })]);
    }

    /// <summary>Each fitted attack's figures on members against non-members, by name.</summary>
    static Dictionary<string, AttackMetrics> Scored<T>(IReadOnlyList<FittedAttack<T>> attacks, T members, T nonMembers) =>
        attacks.ToDictionary(a => a.Name, a => MembershipMetrics.Evaluate(a.Score(members), a.Score(nonMembers), a.Threshold));

    [Fact]
    public void EncoderMiScoresAucOneWhenMembersAreSeparable()
    {
        TorchRuntime.EnsureLoaded();
        var random = new Random(1);
        var result = Scored(EncoderMembershipAttack.Fit(Synthetic(random, 30, 0.9, 0.5), Synthetic(random, 30, 0.6, 0.5), seed: 0),
            Synthetic(random, 20, 0.9, 0.5), Synthetic(random, 25, 0.6, 0.5));
        Assert.Equal(["encodermi-threshold", "encodermi-vector"], result.Keys);
        foreach (var m in result.Values)
        {
            Assert.Equal(1, m.Auc);
            Assert.Equal(1, m.Accuracy);
        }
    }

    [Fact]
    public void EncoderMiIsNearChanceWhenMembersLookLikeNonMembers()
    {
        TorchRuntime.EnsureLoaded();
        var random = new Random(2);
        var result = Scored(EncoderMembershipAttack.Fit(Synthetic(random, 100, 0.8, 0.5), Synthetic(random, 100, 0.8, 0.5), seed: 0),
            Synthetic(random, 200, 0.8, 0.5), Synthetic(random, 200, 0.8, 0.5));
        foreach (var m in result.Values) Assert.InRange(m.Auc, 0.4, 0.6);
    }

    [Fact]
    public void SupervisedAttacksSeparateConfidentMembers()
    {
        TorchRuntime.EnsureLoaded();
        var random = new Random(3);
        var result = Scored(SupervisedMembershipAttack.Fit(Synthetic(random, 30, 0.5, 0.9).Prediction, Synthetic(random, 30, 0.5, 0.3).Prediction, seed: 0),
            Synthetic(random, 20, 0.5, 0.9).Prediction, Synthetic(random, 20, 0.5, 0.3).Prediction);
        Assert.Equal(["confidence", "entropy", "loss", "model-based"], result.Keys);
        foreach (var m in result.Values) Assert.Equal(1, m.Auc);
    }

    [Fact]
    public void AttackClassifierLearnsASeparableRuleAndRejectsWrongWidths()
    {
        TorchRuntime.EnsureLoaded();
        var members = Enumerable.Range(0, 20).Select(i => new[] { 1.0 + i * 0.01, 0.0 }).ToArray();
        var nonMembers = Enumerable.Range(0, 20).Select(i => new[] { -1.0 - i * 0.01, 0.0 }).ToArray();
        var classifier = AttackClassifier.Fit(members, nonMembers, seed: 0);
        var scores = classifier.Score([[2.0, 0.0], [-2.0, 0.0]]);
        // Log-odds: confidently member, confidently not.
        Assert.True(scores[0] > 2 && scores[1] < -2, string.Join(", ", scores));
        Assert.Throws<ArgumentException>(() => classifier.Score([[1.0]]));
    }

    static (ContrastiveLearner Model, Dataset Data, MembershipSplit Split, TrainingSettings Recipe) Tiny(TempDir dir)
    {
        TorchRuntime.EnsureLoaded();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 60, size: 12);
        var data = Datasets.Load(DatasetKind.Mnist, dir.Path);
        var split = MembershipSplit.Create(new SplitSettings { Members = 32, NonMembers = 24, ShadowMembers = 16, ShadowNonMembers = 16, Seed = 1 },
            data.Name, data.Train.Count, data.Test.Count);
        var recipe = TrainingPresets.Get("tiny", "moco") with { Dataset = "mnist", QueueSize = 16 };
        var model = (ContrastiveLearner)new Trainer(recipe, data, split, dir.File("run"), CPU).CreateModel();
        return (model, data, split, recipe);
    }

    [Fact]
    public void EncoderSignalsHaveTheRightShapesAndRepeatUnderOneSeed()
    {
        using var dir = new TempDir();
        var (model, data, split, recipe) = Tiny(dir);
        var augmentation = new ContrastiveAugmentation(recipe.Augmentation);
        EncoderSignals Compute(long seed) => EncoderSignals.Compute(model, data.Train, split.Forget, data.Test, [0, 1, 2, 3], augmentation, views: 4, topK: 5, temperature: 0.1, seed, CPU, chunk: 3);
        var first = Compute(7);
        var again = Compute(7);
        var other = Compute(8);
        Assert.Equal(split.Forget, first.Ids);
        foreach (var output in new[] { first.Head, first.Backbone })
        {
            Assert.Equal(split.Forget.Length, output.Count);
            Assert.All(output.SortedSimilarities, s =>
            {
                Assert.Equal(6, s.Length);
                Assert.Equal(s.OrderDescending(), s);
                Assert.All(s, v => Assert.InRange(v, -1.0001, 1.0001));
            });
            Assert.Equal(output.SortedSimilarities.Select(s => s.Average()), output.Similarity);
            Assert.All(output.Prediction.TopProbabilities, p => Assert.Equal(p.OrderDescending(), p));
            Assert.All(output.Prediction.Loss, l => Assert.True(l > 0));
            Assert.All(output.Embedding, e => Assert.Equal(1, Math.Sqrt(e.Sum(v => v * (double)v)), 4));
        }
        Assert.Equal(first.Head.Similarity, again.Head.Similarity);
        Assert.NotEqual(first.Head.Similarity, other.Head.Similarity);
        Assert.True(model.training, "the model's mode is restored");
    }

    [Fact]
    public void PerSampleLossIsTheContrastiveLossAgainstTheReference()
    {
        using var dir = new TempDir();
        var (model, data, split, recipe) = Tiny(dir);
        // With no augmentation both views are the clean image: positive similarity 1, and the loss is
        // log(exp(1/T) + sum_k exp(s_k/T)) - 1/T over the reference outputs s_k.
        var none = new ContrastiveAugmentation(AugmentationSettings.None);
        int[] ids = [split.Forget[0]];
        int[] reference = [0, 1, 2];
        var signals = EncoderSignals.Compute(model, data.Train, ids, data.Test, reference, none, views: 2, topK: 3, temperature: 0.5, seed: 0, CPU);
        model.eval();
        using var noGrad = no_grad();
        var sample = nn.functional.normalize(model.Project(data.Train.Batch(ids)), dim: 1);
        var negatives = nn.functional.normalize(model.Project(data.Test.Batch(reference)), dim: 1);
        var s = sample.mm(negatives.t()).to(ScalarType.Float64).data<double>().ToArray();
        var expected = Math.Log(Math.Exp(1 / 0.5) + s.Sum(v => Math.Exp(v / 0.5))) - 1 / 0.5;
        Assert.Equal(expected, signals.Head.Prediction.Loss[0], 4);
        Assert.Equal(1, signals.Head.Similarity[0], 5);
        var probabilities = nn.functional.softmax(model.Project(data.Train.Batch(ids)), 1).to(ScalarType.Float64).data<double>().ToArray();
        Assert.Equal(probabilities.Max(), signals.Head.Prediction.Top1[0], 5);
        Assert.Equal(-probabilities.Sum(p => p * Math.Log(p)), signals.Head.Prediction.Entropy[0], 4);
    }

    [Fact]
    public void AuditGroupsAreDisjointSeededAndKeepCalibrationOutOfScoring()
    {
        var split = MembershipSplit.Create(new SplitSettings { Members = 50, NonMembers = 40, ShadowMembers = 10, ShadowNonMembers = 10, Seed = 4 }, "t", 200, 100);
        var settings = new AuditSettings { CalibrationFraction = 0.5, ReferenceSamples = 30, Seed = 2 };
        var groups = AuditGroups.From(split, settings, calibrate: true);
        Assert.Equal(split.Forget, groups.Forget);
        Assert.Equal(split.Retain.Order(), groups.Retain.Concat(groups.CalibrationMembers).Order());
        Assert.Empty(groups.Retain.Intersect(groups.CalibrationMembers));
        Assert.Equal(split.NonMembers.Order(), groups.NonMembers.Concat(groups.CalibrationNonMembers).Order());
        Assert.Equal(20, groups.CalibrationNonMembers.Length);
        Assert.Empty(groups.Reference.Intersect(split.NonMembers));
        Assert.Equal(30, groups.Reference.Length);
        Assert.Equal(groups.CalibrationMembers, AuditGroups.From(split, settings, calibrate: true).CalibrationMembers);
        var shadow = AuditGroups.From(split, settings, calibrate: false);
        Assert.Empty(shadow.CalibrationMembers);
        Assert.Equal(split.Retain, shadow.Retain);
    }

    [Fact]
    public void AnEncoderAuditRunsEndToEndWithCalibrationAndWithAShadow()
    {
        using var dir = new TempDir();
        var (model, data, split, recipe) = Tiny(dir);
        var settings = new AuditSettings { Views = 3, ReferenceSamples = 8, LinearProbeEpochs = 5 };
        var calibrated = EncoderAudit.Run("tiny", model, data, split, recipe, settings, CPU);
        var report = calibrated.Report;
        Assert.Equal("calibration", report.Attacker);
        Assert.Equal(split.Forget.Length, report.Forget);
        Assert.Equal(split.Retain.Length, report.Retain + report.CalibrationMembers);
        Assert.Equal(split.NonMembers.Length, report.NonMembers + report.CalibrationNonMembers);
        foreach (var output in new[] { report.Head, report.Backbone })
        {
            // The threshold attack's AUC is the AUC of the mean view similarity, whatever the calibration.
            var signals = calibrated.Output(output.Output);
            Assert.Equal(RocAuc.Compute(signals.Forget.Similarity, signals.NonMembers.Similarity), output.ForgetEncoderMi.Threshold.Auc, 12);
            Assert.Equal(report.NonMembers, output.ForgetEncoderMi.Threshold.NonMembers);
            Assert.Equal(report.Forget, output.ForgetEncoderMi.Vector.Members);
            Assert.Equal(report.Retain, output.RetainSupervised.Model.Members);
            Assert.Equal(["forget", "retain", "non-members"], output.Diagnostics.Select(d => d.Group));
        }
        var (knn, probe) = EncoderAudit.Utility(model, data, split.Retain, recipe, settings, CPU);
        Assert.Equal(knn, report.KnnAccuracy);
        Assert.Equal(probe, report.LinearProbeAccuracy);
        Assert.Equal(report.Forget, calibrated.Forget.Ids.Length);

        // A shadow with other weights: its fitted thresholds differ, but the threshold attack's AUC on the target does not.
        var shadowModel = (ContrastiveLearner)new Trainer(recipe with { Seed = 99 }, data, split, dir.File("shadow"), CPU).CreateModel();
        var shadowed = EncoderAudit.Run("tiny", model, data, split, recipe, settings with { LinearProbe = false }, CPU, shadowModel).Report;
        Assert.NotEqual(report.Head.ForgetEncoderMi.Threshold.Threshold, shadowed.Head.ForgetEncoderMi.Threshold.Threshold);
        Assert.Equal("shadow", shadowed.Attacker);
        Assert.Equal(split.ShadowMembers.Length, shadowed.CalibrationMembers);
        Assert.Equal(split.Retain.Length, shadowed.Retain);
        Assert.Null(shadowed.LinearProbeAccuracy);
        var markdown = Lethe.Reports.AuditMarkdown.Render(report);
        foreach (var section in new[] { "## Forget set vs non-members", "## Retained members vs non-members", "## Per-sample diagnostics", "## Utility", "EncoderMI vector", "loss threshold" })
            Assert.Contains(section, markdown);
        foreach (var attack in MembershipAttacks.All) Assert.Contains($"| head | {attack.DisplayName} |", markdown);
    }

    [Fact]
    public void TheScoresFileReproducesEveryFigureOfTheReportAndAModelMatchesItself()
    {
        using var dir = new TempDir();
        var (model, data, split, recipe) = Tiny(dir);
        var report = EncoderAudit.Run("tiny, first", model, data, split, recipe, new AuditSettings { Views = 3, ReferenceSamples = 8, LinearProbe = false }, CPU).Report;
        Audit.Write(report, dir.File("audit"));
        Audit.Write(report, dir.File("cells"), "tiny", compressScores: true);
        var read = MembershipScores.Read(Audit.ScoresPath(dir.File("audit")));
        var compressed = MembershipScores.Read(Audit.ScoresPath(dir.File("cells"), "tiny", compressed: true));
        Assert.Equal("tiny, first", read.Model); // a quoted CSV field
        Assert.Equal(split.Forget, read.ForgetIds);
        Assert.Equal(12, read.Attacks.Count); // six attacks on each of two outputs
        Assert.Equal(File.ReadAllLines(dir.File("audit/audit.scores.csv")).Length - 1, 12 * (report.Forget + report.Retain + report.NonMembers));

        foreach (var (output, attack, metrics) in report.Attacks(forget: true).Concat(report.Attacks(forget: false)))
        {
            var name = $"{output}/{MembershipAttacks.All.Single(a => a.DisplayName == attack).Name}";
            var forget = report.Attacks(forget: true).Any(a => a.Output == output && a.Attack == attack && ReferenceEquals(a.Metrics, metrics));
            var scores = read[name];
            Assert.Equal(compressed[name].NonMembers, scores.NonMembers);
            var again = MembershipMetrics.Evaluate(forget ? scores.Forget : scores.Retain, scores.NonMembers, metrics.Threshold);
            Assert.Equal(metrics.Auc, again.Auc, 15);
            Assert.Equal(metrics.Accuracy, again.Accuracy, 15);
            Assert.Equal(metrics.TprAt1PercentFpr, again.TprAt1PercentFpr, 15);
            Assert.Equal(metrics.TprAt01PercentFpr, again.TprAt01PercentFpr, 15);
        }

        var self = RetrainingComparison.Of(read, compressed);
        Assert.True(self.Matches, self.Reason);
        Assert.All(self.Attacks, a =>
        {
            foreach (var group in ScoreGroups.All) Assert.Equal(0, a.Group(group).Statistic);
            Assert.Equal(0, a.Difference.Difference);
        });
        Assert.Equal(0.5, TwoModelAttack.Auc(read, compressed, "head/encodermi-threshold").Auc);
    }

    [Fact]
    public void AScoresFileThatIsNotOneIsRefusedInOneLine()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.csv"), "id,group,model,attack,score\n1,forget,m,head/x,0.5\n2,bogus,m,head/x,0.1\n");
        Assert.Contains("line 3", Assert.Throws<DataFormatException>(() => MembershipScores.Read(dir.File("a.csv"))).Message);
        File.WriteAllText(dir.File("b.csv.gz"), "not gzip");
        Assert.Throws<DataFormatException>(() => MembershipScores.Read(dir.File("b.csv.gz")));
    }
}
