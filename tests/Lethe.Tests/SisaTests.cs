using System.Security.Cryptography;
using Lethe.Data;
using Lethe.Runtime;
using Lethe.Supervised;
using Lethe.Training;
using Lethe.Unlearning;
using static TorchSharp.torch;

namespace Lethe.Tests;

[Collection(TorchThreads.Name)]
public class SisaTests
{
    [Fact]
    public void DeletionRetrainsOnlyTheShardsThatHeldTheSamplesAndTheEnsembleAveragesShards()
    {
        using var dir = new TempDir();
        TorchRuntime.EnsureLoaded();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 40, size: 12);
        var data = Datasets.Load(DatasetKind.Mnist, dir.Path);
        var split = MembershipSplit.Create(new SplitSettings { Members = 48, NonMembers = 16, ShadowMembers = 16, ShadowNonMembers = 16, Seed = 1 },
            data.Name, data.Train.Count, data.Test.Count);
        var recipe = TrainingPresets.Get("tiny", "classifier") with { Dataset = "mnist", BatchSize = 8, Epochs = 2 };
        var sisa = new Sisa(recipe, data, split, dir.File("sisa"), CPU);
        var shards = sisa.Train(3);
        Assert.Equal(3, shards.Shards.Length);
        Assert.Equal(split.Members.Order(), shards.Shards.SelectMany(s => s).Order());
        Assert.All(shards.Shards, s => Assert.Equal(16, s.Length));

        string Hash(int shard) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(sisa.ShardFolder(shard), "final.ckpt"))));
        var before = Enumerable.Range(0, 3).Select(Hash).ToArray();
        int[] deleted = [shards.Shards[1][0], shards.Shards[1][5]];
        var affected = sisa.Delete(deleted);
        Assert.Equal([1], affected);
        var after = Enumerable.Range(0, 3).Select(Hash).ToArray();
        Assert.Equal(before[0], after[0]);
        Assert.Equal(before[2], after[2]);
        Assert.NotEqual(before[1], after[1]);
        var saved = Storage.LetheJson.ReadFile<SisaShards>(dir.File("sisa/sisa.json"), "shards");
        Assert.Equal(14, saved.Shards[1].Length);
        Assert.Empty(saved.Shards[1].Intersect(deleted));
        Assert.Equal(deleted.Order(), saved.Deleted);
        Assert.Throws<LetheException>(() => sisa.Delete([split.NonMembers[0] + 100_000]));

        var models = sisa.Load();
        var images = data.Test.Batch([0, 1, 2]);
        var ensemble = Sisa.Predict(models, images).data<float>().ToArray();
        using var noGrad = no_grad();
        var expected = new float[ensemble.Length];
        foreach (var model in models)
        {
            var p = nn.functional.softmax(model.forward(images), 1).data<float>().ToArray();
            for (var i = 0; i < p.Length; i++) expected[i] += p[i] / models.Count;
        }
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], ensemble[i], 5);

        // The audit's view of the ensemble: log of the same mean, in double precision.
        var logProbabilities = Sisa.LogProbabilities(models, images).exp().data<double>().ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], logProbabilities[i], 5);

        // The ensemble's audit: test accuracy is the ensemble's own, on the first TestSamples images.
        var settings = new Audits.AuditSettings { TestSamples = 15, Seed = 2 };
        var report = Audits.ClassifierAudit.Run("sisa", x => Sisa.LogProbabilities(models, x), data, split, settings, CPU);
        var first = Enumerable.Range(0, 15).ToArray();
        var predicted = Sisa.Predict(models, data.Test.Batch(first)).argmax(1).data<long>().ToArray();
        var labels = data.Test.LabelBatch(first, CPU).data<long>().ToArray();
        Assert.Equal(predicted.Zip(labels).Count(p => p.First == p.Second) / 15.0, report.TestAccuracy, 12);
        var forgetTop1 = report.Diagnostics.First(d => d.Group == "forget").Top1;
        var expectedTop1 = Sisa.Predict(models, data.Train.Batch(split.Forget)).max(1).values.mean().item<float>();
        Assert.Equal(expectedTop1, forgetTop1, 5);
    }
}
