using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>Which members each SISA shard holds; saved as sisa.json in the ensemble's folder.</summary>
public sealed record SisaShards(int[][] Shards, int[] Deleted);

/// <summary>
/// SISA (Bourtoule et al., 2021): the members are split into disjoint shards, one classifier is trained per shard,
/// and the ensemble predicts with the mean of the shards' softmax outputs. Deleting samples retrains, from scratch and
/// without them, only the shards that held them: exact unlearning at a fraction of a full retrain. (SISA's slicing
/// within shards, which saves further work with intermediate checkpoints, is not implemented.)
/// </summary>
public sealed class Sisa(TrainingSettings recipe, Dataset data, MembershipSplit split, string folder, Device device)
{
    public const string ShardsFile = "sisa.json";

    readonly TrainingSettings recipe = recipe.IsEncoder ? throw new LetheException("SISA shards are classifiers: an encoder has no predictions to average") : recipe;

    public string ShardFolder(int shard) => Path.Combine(folder, $"shard-{shard:D2}");

    /// <summary>Progress of shard training: the shard and its epoch's metrics.</summary>
    public Action<int, EpochMetrics>? OnShardEpoch { get; init; }

    /// <summary>Deals the members into <paramref name="shards"/> disjoint shards (seeded) and trains one classifier on each.</summary>
    public SisaShards Train(int shards, CancellationToken cancel = default)
    {
        if (shards < 1 || shards > split.Members.Length / recipe.BatchSize)
            throw new LetheException($"{shards} shards of {split.Members.Length} members leave some shard smaller than a batch of {recipe.BatchSize}");
        var order = split.Members.ToArray();
        Seeds.Random(recipe.Seed, "sisa/shards").Shuffle(order);
        var assignment = Enumerable.Range(0, shards).Select(s => order.Where((_, i) => i % shards == s).Order().ToArray()).ToArray();
        var state = new SisaShards(assignment, []);
        for (var s = 0; s < shards; s++) TrainShard(s, assignment[s], cancel);
        LetheJson.WriteFile(Path.Combine(folder, ShardsFile), state);
        return state;
    }

    /// <summary>Deletes <paramref name="ids"/>: retrains the shards that hold any of them and returns which shards were retrained.</summary>
    public IReadOnlyList<int> Delete(IReadOnlyCollection<int> ids, CancellationToken cancel = default)
    {
        var state = LetheJson.ReadFile<SisaShards>(Path.Combine(folder, ShardsFile), "SISA shards");
        var deleted = ids.ToHashSet();
        var unknown = deleted.Where(i => !state.Shards.Any(s => s.Contains(i)) && !state.Deleted.Contains(i)).Take(3).ToArray();
        if (unknown.Length > 0) throw new LetheException($"ids {string.Join(", ", unknown)} are in no shard: only members can be deleted");
        var affected = new List<int>();
        var shards = state.Shards.Select(s => s.ToArray()).ToArray();
        for (var s = 0; s < shards.Length; s++)
        {
            if (!shards[s].Any(deleted.Contains)) continue;
            shards[s] = [.. shards[s].Where(i => !deleted.Contains(i))];
            if (shards[s].Length < recipe.BatchSize) throw new LetheException($"deleting would leave shard {s} with {shards[s].Length} samples, fewer than a batch");
            TrainShard(s, shards[s], cancel);
            affected.Add(s);
        }
        LetheJson.WriteFile(Path.Combine(folder, ShardsFile), new SisaShards(shards, [.. state.Deleted.Union(deleted).Order()]));
        return affected;
    }

    /// <summary>The shards' classifiers, loaded from their final checkpoints.</summary>
    public IReadOnlyList<Learner> Load()
    {
        var state = LetheJson.ReadFile<SisaShards>(Path.Combine(folder, ShardsFile), "SISA shards");
        return [.. Enumerable.Range(0, state.Shards.Length).Select(s =>
        {
            var model = TrainingRun.Build(recipe, data, device);
            Checkpoint.Load(Path.Combine(ShardFolder(s), RunFolder.FinalCheckpoint), model, recipe.Architecture);
            model.eval();
            return model;
        })];
    }

    /// <summary>The ensemble's class probabilities: the mean of the shards' softmax outputs.</summary>
    public static Tensor Predict(IReadOnlyList<Learner> shards, Tensor images)
    {
        using var noGrad = no_grad();
        return stack(shards.Select(m => nn.functional.softmax(m.forward(images), 1)).ToArray(), 0).mean([0]);
    }

    /// <summary>
    /// The ensemble's log-probabilities, averaged in double precision: audits need them, and a member's top probability
    /// would round to exactly 1 in float32. A valid input wherever logits are expected.
    /// </summary>
    public static Tensor LogProbabilities(IReadOnlyList<Learner> shards, Tensor images)
    {
        using var noGrad = no_grad();
        // log(mean_s p_s) = logsumexp_s(log p_s) - log S: no -inf where a probability underflows.
        var logs = stack(shards.Select(m => nn.functional.log_softmax(m.forward(images).to(ScalarType.Float64), 1)).ToArray(), 0);
        return logs.logsumexp(0) - Math.Log(shards.Count);
    }

    void TrainShard(int shard, int[] ids, CancellationToken cancel)
    {
        // Each shard has its own seed, so shards are independent models, and a retrained shard starts afresh.
        var settings = recipe with { Seed = Seeds.Derive(recipe.Seed, $"sisa/shard/{shard}") };
        var trainer = new Trainer(settings, data, split, ShardFolder(shard), device, ids) { OnEpoch = m => OnShardEpoch?.Invoke(shard, m) };
        var result = trainer.Run(resume: false, cancel);
        if (!result.Completed) throw new LetheException($"training of SISA shard {shard} was stopped at epoch {result.Epoch}");
    }
}
