using System.Diagnostics;
using Lethe.Audits;
using Lethe.Data;
using Lethe.Storage;
using Lethe.Training;
using Lethe.Unlearning;
using static TorchSharp.torch;

namespace Lethe.Experiments;

/// <summary>
/// The models every table is made of, for any learner (an encoder method or the classifier): the original model, the
/// model unlearned by a method, the model retrained from scratch without the forget set, and SISA before and after a
/// deletion. Each is one cached cell (<see cref="CellCache"/>); the training runs they need are cached and resumed in
/// runs/ (<see cref="TrainedRuns"/>). With a <paramref name="plan"/>, nothing is measured: every piece of work the
/// tables ask for is added to the plan and answered with a placeholder. Training runs and cells are taken under locks
/// (<paramref name="locks"/>), so that several processes can share the folder.
/// </summary>
public sealed class Scenarios(
    ReproduceSettings settings, string folder, Device device, CellCache cache, ReproduceHooks hooks, CancellationToken cancel, WorkPlan? plan = null, WorkLocks? locks = null)
{
    public const string RunsFolder = "runs";

    /// <summary>The forget share of every table but VI: the paper's 20%.</summary>
    public const double BaseFraction = 0.2;

    readonly Dictionary<string, Dataset> datasets = [];

    /// <summary>Whether this run only lists its work (placeholders instead of measurements).</summary>
    public bool Planning => plan is not null;

    /// <summary>One cell per report seed.</summary>
    public Measurement[] Seeds(Func<long, Measurement> cell) => [.. settings.SeedValues.Select(cell)];

    /// <summary>One cell per seed of tables III to VI (the first of the report seeds).</summary>
    public Measurement[] AblationSeeds(Func<long, Measurement> cell) => [.. settings.AblationSeedValues.Select(cell)];

    public Measurement Original(string model, string dataset, long seed, double fraction = BaseFraction)
    {
        var (recipe, audit) = (settings.Recipe(model, dataset, seed), settings.Audit(seed));
        return Cell(new CellKey(seed, dataset, model, fraction, "original"), new { recipe, audit, fraction }, () =>
        {
            var (run, split) = Trained(recipe, TrainedKind(recipe), fraction);
            using var learner = run.LoadModel(device);
            return Audited("original", learner, run.Data, split, audit, null);
        });
    }

    /// <summary>The model unlearned with <paramref name="unlearning"/>; <paramref name="variant"/> names an ablation of the method's defaults.</summary>
    public Measurement Unlearned(string model, string dataset, long seed, UnlearningSettings unlearning, double fraction = BaseFraction, string? variant = null)
    {
        var (recipe, audit) = (settings.Recipe(model, dataset, seed), settings.Audit(seed));
        var key = new CellKey(seed, dataset, model, fraction, unlearning.Method, variant);
        return Cell(key, new { recipe, audit, fraction, unlearning }, () =>
        {
            var (run, split) = Trained(recipe, TrainedKind(recipe), fraction);
            hooks.OnStage?.Invoke($"unlearn {TrainingMethods.DisplayName(model)} on {dataset} with {key.Label} (forget {split.Forget.Length}, seed {seed})");
            var (learner, request) = ForgetRequest.Fulfil(run, split, unlearning, Path.Combine(RunPath(recipe, "unlearn"), CellKey.ForgetFolder(fraction), key.Label), device, hooks.OnUnlearningEpoch, cancel);
            using (learner)
            {
                StopIfAsked("unlearning");
                var result = request.Result;
                var note = result.Diverged ? "diverged" : result.Epochs.Count < unlearning.Epochs ? $"stopped after {result.Epochs.Count} epochs" : null;
                return Audited(key.Label, learner, run.Data, split, audit, result.Seconds, note);
            }
        });
    }

    /// <summary>
    /// The model of a measured cell, loaded: the original (<paramref name="label"/> "original"), the retrained one
    /// ("retrained"), or an unlearned one by its cell label. The cell must have been measured.
    /// </summary>
    public (Models.Learner Model, Dataset Data, MembershipSplit Split) Load(string model, string dataset, long seed, string label)
    {
        var recipe = settings.Recipe(model, dataset, seed);
        var (run, split) = label == "retrained" ? Trained(recipe with { TrainOn = "retain" }, "retrain", BaseFraction) : Trained(recipe, TrainedKind(recipe), BaseFraction);
        var checkpoint = label is "original" or "retrained"
            ? null
            : Path.Combine(RunPath(recipe, "unlearn"), CellKey.ForgetFolder(BaseFraction), label, ForgetRequest.CheckpointFile);
        return (run.LoadModel(device, checkpoint), run.Data, split);
    }

    /// <summary>
    /// Continual deletion: the forget set split into <paramref name="requests"/> seeded parts, unlearned one request
    /// after the other on the same model (each request's anchor is the model as the previous request left it, its
    /// retained members those not yet forgotten), then audited on the whole forget set, so that the retrained model
    /// without all of them is this seed's retrained model. With <paramref name="recheck"/>, each request unlearns the
    /// samples of the earlier requests too (a method with a per-sample stop leaves alone those still at their target).
    /// With <paramref name="firstAnchor"/>, every request's anchor is the model before the first request rather than
    /// the one the previous request left. Seconds: all requests together.
    /// </summary>
    public Measurement Continual(string model, string dataset, long seed, UnlearningSettings unlearning, int requests, bool recheck = false, bool firstAnchor = false)
    {
        var (recipe, audit) = (settings.Recipe(model, dataset, seed), settings.Audit(seed));
        var key = new CellKey(seed, dataset, model, BaseFraction, unlearning.Method, ContinualVariant(requests, recheck, firstAnchor));
        object determinants = recheck || firstAnchor ? new { recipe, audit, unlearning, requests, recheck, firstAnchor } : new { recipe, audit, unlearning, requests };
        return Cell(key, determinants, () =>
        {
            var (run, split) = Trained(recipe, TrainedKind(recipe), BaseFraction);
            if (requests < 1 || requests > split.Forget.Length / 2) throw new LetheException($"{split.Forget.Length} forget samples cannot make {requests} requests of at least 2");
            var order = split.Forget.ToArray();
            Runtime.Seeds.Random(seed, "continual/requests").Shuffle(order);
            using var learner = run.LoadModel(device);
            using var first = firstAnchor ? learner.FrozenCopy() : null;
            var forgotten = new HashSet<int>();
            var seconds = 0.0;
            var notes = new List<string>();
            for (var r = 0; r < requests; r++)
            {
                var part = order.Where((_, i) => i * requests / order.Length == r).Order().ToArray();
                forgotten.UnionWith(part);
                hooks.OnStage?.Invoke($"continual deletion: request {r + 1}/{requests} on {TrainingMethods.DisplayName(model)} with {UnlearningMethods.DisplayName(unlearning.Method)} (forget {part.Length}, seed {seed})");
                var retain = split.Members.Where(id => !forgotten.Contains(id)).ToArray();
                var result = new Unlearner(learner, unlearning with { Seed = Runtime.Seeds.Derive(unlearning.Seed, $"continual/{r}") }, device) { OnEpoch = hooks.OnUnlearningEpoch, Original = first }
                    .Run(run.Data.Train, recheck ? [.. forgotten.Order()] : part, split.ShadowNonMembers, cancel, retain);
                StopIfAsked("continual deletion");
                seconds += result.Seconds;
                notes.Add(result.Diverged ? "diverged" : $"{result.Epochs.Count} epochs");
            }
            // Kept like every unlearned model, for `lethe audit --checkpoint` and the diagnosis's gradient norms.
            Storage.Checkpoint.Save(Path.Combine(RunPath(recipe, "unlearn"), CellKey.ForgetFolder(BaseFraction), key.Label, ForgetRequest.CheckpointFile),
                learner, run.Settings.Architecture, run.Settings.Epochs, seed, unlearning);
            return Audited(key.Label, learner, run.Data, split, audit, seconds, $"requests: {string.Join(", ", notes)}");
        });
    }

    /// <summary>The cell variant of a continual deletion, e.g. 3-requests or 3-requests-recheck-first-anchor.</summary>
    public static string ContinualVariant(int requests, bool recheck, bool firstAnchor) =>
        $"{requests}-requests{(recheck ? "-recheck" : "")}{(firstAnchor ? "-first-anchor" : "")}";

    public Measurement Retrained(string model, string dataset, long seed)
    {
        var (recipe, audit) = (settings.Recipe(model, dataset, seed), settings.Audit(seed));
        return Cell(new CellKey(seed, dataset, model, BaseFraction, "retrained"), new { recipe, audit }, () =>
        {
            var (run, split) = Trained(recipe with { TrainOn = "retain" }, "retrain", BaseFraction);
            using var learner = run.LoadModel(device);
            return Audited("retrained", learner, run.Data, split, audit, TrainedRuns.StepSeconds(run.Folder));
        });
    }

    /// <summary>
    /// A second retraining on the same split with independent initialisation, batch order and augmentation: how far
    /// two exact retrainings differ, the yardstick of the verdict against retraining (docs/membership-metrics.md).
    /// </summary>
    public Measurement RetrainedAgain(string model, string dataset, long seed)
    {
        var (recipe, audit) = (settings.Recipe(model, dataset, seed), settings.Audit(seed));
        var again = recipe with { TrainOn = "retain", TrainingSeed = Runtime.Seeds.Derive(seed, "retrain-again") };
        return Cell(new CellKey(seed, dataset, model, BaseFraction, "retrained-again"), new { recipe = again, audit }, () =>
        {
            var (run, split) = Trained(again, "retrain-again", BaseFraction);
            using var learner = run.LoadModel(device);
            return Audited("retrained-again", learner, run.Data, split, audit, TrainedRuns.StepSeconds(run.Folder));
        });
    }

    /// <summary>SISA before and after deleting the forget set. Both cells are measured together: deletion changes the shards in place.</summary>
    public (Measurement Before, Measurement After) Sisa(string dataset, long seed)
    {
        var recipe = SisaRecipe(settings.Recipe(ReproduceSettings.ClassifierModel, dataset, seed));
        var audit = settings.Audit(seed);
        var signature = new { recipe, audit, shards = settings.SisaShards };
        var beforeKey = new CellKey(seed, dataset, ReproduceSettings.ClassifierModel, BaseFraction, "sisa-before");
        var afterKey = new CellKey(seed, dataset, ReproduceSettings.ClassifierModel, BaseFraction, "sisa");
        (Measurement, Measurement)? Cached() =>
            cache.Cached(beforeKey, signature, count: false) is { } b && cache.Cached(afterKey, signature, count: false) is { } a ? (b, a) : null;
        if (plan is not null)
        {
            plan.Add(new WorkUnit(afterKey.Path, Group(afterKey), () => Cached() is not null, () => Measure()));
            return (Measurement.Placeholder(classifier: true), Measurement.Placeholder(classifier: true));
        }
        return Measure();

        (Measurement Before, Measurement After) Measure()
        {
            if (Cached() is { } known)
            {
                cache.CountReused(2);
                return known;
            }
            StopIfAsked("the experiments");
            using var held = cache.Lock(afterKey.Path, $"SISA of {afterKey.Path}");
            if (Cached() is { } measured) // by the process we waited for
            {
                cache.CountReused(2);
                return measured;
            }
            var watch = Stopwatch.StartNew();

            var data = Data(dataset);
            var split = BaseSplit(recipe, data);
            var sisaFolder = RunPath(recipe, "sisa");
            if (Directory.Exists(sisaFolder)) Directory.Delete(sisaFolder, recursive: true); // a stopped SISA run starts afresh
            var sisa = new Sisa(recipe, data, split, sisaFolder, device) { OnShardEpoch = hooks.OnShardEpoch };
            hooks.OnStage?.Invoke($"SISA: train {settings.SisaShards} shards of the classifier on {dataset} (seed {seed})");
            Stoppable("SISA training", () => sisa.Train(settings.SisaShards, cancel));
            var trained = Enumerable.Range(0, settings.SisaShards).Sum(s => TrainedRuns.StepSeconds(sisa.ShardFolder(s)));
            var before = AuditSisa("sisa-before", sisa, data, split, audit, trained);
            var beforeSeconds = watch.Elapsed.TotalSeconds;
            hooks.OnStage?.Invoke($"SISA: delete {split.Forget.Length} members");
            var affected = Stoppable("SISA deletion", () => sisa.Delete(split.Forget, cancel));
            var seconds = affected.Sum(s => TrainedRuns.StepSeconds(sisa.ShardFolder(s)));
            var after = AuditSisa("sisa", sisa, data, split, audit, seconds, $"retrained {affected.Count} of {settings.SisaShards} shards");
            cache.Store(beforeKey, signature, before, beforeSeconds);
            cache.Store(afterKey, signature, after, watch.Elapsed.TotalSeconds - beforeSeconds);
            return (cache.Cells[beforeKey], cache.Cells[afterKey]);
        }
    }

    /// <summary>
    /// The <paramref name="count"/> reference models of LiRA (docs/lira.md) for <paramref name="model"/>: pairs trained on
    /// complementary halves of a pool (the seed's members and shadow members, so every pool sample is in exactly half of
    /// the models), each forgetting a random share of its half as large as the report's forget set. For each of
    /// <paramref name="treatments"/> (null: scored as trained; settings: unlearned with them) the references in order.
    /// Training runs are shared by every treatment and cached in runs/, scores in lira/.
    /// </summary>
    public IReadOnlyList<LiraReferences> Lira(string model, string dataset, long seed, int count, IReadOnlyList<UnlearningSettings?> treatments)
    {
        var (recipe, audit) = (settings.Recipe(model, dataset, seed), settings.Audit(seed));
        var data = Data(dataset);
        var split = BaseSplit(recipe, data);
        var pool = split.Members.Concat(split.ShadowMembers).Order().ToArray();
        var reference = split.NonMembers.Take(audit.ReferenceSamples).ToArray();
        var cells = treatments.Select(_ => new LiraCell[count]).ToArray();
        // Reference model by reference model, every treatment of one before the next is trained: its cells are then
        // complete and can be committed, so a run resumed on another machine never needs that model again. One reference
        // model is one piece of work for the shards.
        for (var index = 0; index < count; index++)
        {
            var member = LiraSplit(split, pool, seed, index);
            var again = recipe with { TrainingSeed = Runtime.Seeds.Derive(seed, $"lira/{index}") };
            var unit = Path.Combine(LiraFolder, $"seed-{seed}", dataset, model, $"ref-{index:00}");
            var known = treatments.Select(unlearning => (
                Unlearning: unlearning,
                Label: unlearning?.Method ?? "original",
                Signature: LetheJson.Serialize(new { recipe = again, audit, unlearning, member.Members, member.Forget }),
                Path: Path.Combine(folder, unit, (unlearning?.Method ?? "original") + ".json"))).ToArray();
            var i = index;
            LiraCell?[] Read() => [.. known.Select(k => LiraCell.Read(k.Path, k.Signature))];
            // Every treatment's cell of this reference model, measuring (under its lock) those not cached.
            LiraCell[] Ensure()
            {
                var read = Read();
                if (read.All(c => c is not null)) return read!;
                using var held = (locks ?? new WorkLocks()).Take(Path.Combine(folder, unit + ".lock"), $"LiRA's {unit}");
                read = Read(); // another process may have measured some meanwhile
                return [.. known.Select((k, t) => read[t] ?? MeasureLira(again, member, k.Unlearning, k.Label, i, k.Signature, k.Path))];
            }
            if (plan is not null)
            {
                plan.Add(new WorkUnit(unit, $"seed-{seed}/{dataset}/{model}/lira", () => Read().All(c => c is not null), () => Ensure()));
                continue;
            }
            var ensured = Ensure();
            for (var t = 0; t < treatments.Count; t++) cells[t][index] = ensured[t];
        }
        if (plan is not null) return [.. treatments.Select(_ => new LiraReferences([], 0, null))];
        return [.. treatments.Select((unlearning, t) => new LiraReferences(
            [.. cells[t].Select(c => new PoolScores(c.Roles, c.Scores))],
            cells[t].Sum(c => c.TrainingSeconds),
            unlearning is null ? null : cells[t].Sum(c => c.UnlearningSeconds ?? 0)))];

        // A reference model not yet measured with this treatment: train it (or reuse its run), treat it, score the pool.
        LiraCell MeasureLira(TrainingSettings again, MembershipSplit member, UnlearningSettings? unlearning, string label, int index, string signature, string path)
        {
            StopIfAsked("LiRA");
            var (run, _) = Trained(again, $"lira-{index:00}", member, BaseFraction);
            var watch = Stopwatch.StartNew();
            Models.Learner learner;
            double? seconds = null;
            if (unlearning is null)
            {
                hooks.OnStage?.Invoke($"LiRA: score reference model {index + 1}/{count} of {TrainingMethods.DisplayName(model)} (seed {seed})");
                learner = run.LoadModel(device);
            }
            else
            {
                hooks.OnStage?.Invoke($"LiRA: unlearn reference model {index + 1}/{count} of {TrainingMethods.DisplayName(model)} with {label} (forget {member.Forget.Length}, seed {seed})");
                var (unlearned, request) = ForgetRequest.Fulfil(
                    run, member, unlearning, Path.Combine(RunPath(again, "lira-unlearn"), $"ref-{index:00}", label), device, hooks.OnUnlearningEpoch, cancel);
                learner = unlearned;
                StopIfAsked("LiRA unlearning");
                seconds = request.Result.Seconds;
            }
            using (learner)
            {
                var scores = LikelihoodRatioAttack.Score(learner, data, pool, again, audit, reference, device);
                var forgotten = member.Forget.ToHashSet();
                var members = member.Members.ToHashSet();
                PoolRole[] roles = [.. pool.Select(id => forgotten.Contains(id) ? PoolRole.Forgotten : members.Contains(id) ? PoolRole.Retained : PoolRole.Unseen)];
                var cell = new LiraCell(signature, pool, roles, scores, TrainedRuns.StepSeconds(run.Folder), seconds, watch.Elapsed.TotalSeconds);
                LetheJson.WriteFile(path, cell);
                return cell;
            }
        }
    }

    public const string LiraFolder = "lira";

    /// <summary>Reference model <paramref name="index"/>'s split: one half of the pool (pairs share a shuffle and split it in two) and its own forget set.</summary>
    static MembershipSplit LiraSplit(MembershipSplit split, int[] pool, long seed, int index)
    {
        var half = split.Members.Length;
        if (pool.Length < 2 * half) throw new LetheException($"LiRA's pool needs as many shadow members as members ({half}), not {pool.Length - half}");
        var order = Enumerable.Range(0, pool.Length).ToArray();
        Runtime.Seeds.Random(seed, $"lira/pair/{index / 2}").Shuffle(order);
        var members = order.Skip(index % 2 == 0 ? 0 : half).Take(half).Select(i => pool[i]).Order().ToArray();
        var forgetOrder = Enumerable.Range(0, half).ToArray();
        Runtime.Seeds.Random(seed, $"lira/forget/{index}").Shuffle(forgetOrder);
        var forget = forgetOrder.Take(split.Forget.Length).Select(i => members[i]).Order().ToArray();
        var lira = split with
        {
            ForgetSource = $"lira reference {index}",
            Members = members,
            Forget = forget,
            Retain = [.. members.Except(forget)],
            ShadowMembers = [.. pool.Except(members)],
        };
        lira.Validate(lira.ForgetSource);
        return lira;
    }

    /// <summary>How many members a forget share of <paramref name="model"/>'s split forgets (table VI's first column).</summary>
    public int ForgetCount(string model, string dataset, double fraction) =>
        SplitFor(BaseSplit(settings.Recipe(model, dataset, settings.FirstSeed), Data(dataset)), fraction).Forget.Length;

    /// <summary>
    /// The classifier recipe per shard. A shard holds members/shards samples and loses about a fifth of them on deletion;
    /// the batch is capped at half a shard so that what is left still fills a batch (the small scale's 64 members per
    /// shard would otherwise drop to about 51, under its batch of 64).
    /// </summary>
    TrainingSettings SisaRecipe(TrainingSettings recipe) =>
        recipe with { BatchSize = Math.Max(1, Math.Min(recipe.BatchSize, recipe.Members / settings.SisaShards / 2)) };

    (Measurement Measurement, IAuditReport Report) AuditSisa(string name, Sisa sisa, Dataset data, MembershipSplit split, AuditSettings audit, double seconds, string? note = null)
    {
        hooks.OnStage?.Invoke($"audit {name}");
        var shards = sisa.Load();
        try
        {
            var report = ClassifierAudit.Run(name, images => Unlearning.Sisa.LogProbabilities(shards, images), data, split, audit, device);
            return (Measurement.Of(report, seconds, note), report);
        }
        finally
        {
            foreach (var shard in shards) shard.Dispose();
        }
    }

    (Measurement Measurement, IAuditReport Report) Audited(string name, Models.Learner learner, Dataset data, MembershipSplit split, AuditSettings audit, double? seconds, string? note = null)
    {
        hooks.OnStage?.Invoke($"audit {name} ({split.Forget.Length} forgotten)");
        var report = Audit.Run(name, learner, data, split, audit, device);
        return (Measurement.Of(report, seconds, note), report);
    }

    Measurement Cell(CellKey key, object determinants, Func<(Measurement Measurement, IAuditReport Report)> compute)
    {
        if (plan is null) return cache.Get(key, determinants, compute, () => StopIfAsked("the experiments"));
        plan.Add(new WorkUnit(key.Path, Group(key), () => cache.Cached(key, determinants, count: false) is not null,
            () => cache.Get(key, determinants, compute, () => StopIfAsked("the experiments"))));
        return Measurement.Placeholder(key.Model == ReproduceSettings.ClassifierModel);
    }

    /// <summary>The cells that share training runs: one seed's model of one data set.</summary>
    static string Group(CellKey key) => $"seed-{key.Seed}/{key.Dataset}/{key.Model}";

    /// <summary>Makes sure the run (pretrain on the members or retrain on the retained ones) has finished; returns it and its split at <paramref name="fraction"/>.</summary>
    (TrainingRun Run, MembershipSplit Split) Trained(TrainingSettings recipe, string kind, double fraction) =>
        Trained(recipe, kind, BaseSplit(recipe, Data(recipe.Dataset)), fraction);

    (TrainingRun Run, MembershipSplit Split) Trained(TrainingSettings recipe, string kind, MembershipSplit split, double fraction)
    {
        recipe.Validate();
        var data = Data(recipe.Dataset);
        var path = RunPath(recipe, kind);
        var stage = $"{kind} {TrainingMethods.DisplayName(recipe.Method)}";
        TrainedRuns.Ensure(stage, recipe, split, path, resume =>
        {
            hooks.OnStage?.Invoke($"{stage} on {recipe.Dataset} (seed {recipe.Seed})");
            return hooks.Train(recipe, data, split, path, resume, cancel);
        }, "run reproduce again", locks);
        return (TrainingRun.Open(path, data: data), SplitFor(split, fraction));
    }

    /// <summary>The original model's run: an encoder is pretrained, a classifier trained.</summary>
    static string TrainedKind(TrainingSettings recipe) => recipe.IsEncoder ? "pretrain" : "train";

    string RunPath(TrainingSettings recipe, string kind) => Path.Combine(folder, RunsFolder, $"seed-{recipe.Seed}", recipe.Dataset, recipe.Method, kind);

    Dataset Data(string name)
    {
        if (!datasets.TryGetValue(name, out var data)) datasets[name] = data = hooks.LoadData(name);
        return data;
    }

    /// <summary>The split every training run uses: the recipe's sizes, the paper's 20% forget set.</summary>
    static MembershipSplit BaseSplit(TrainingSettings recipe, Dataset data) =>
        MembershipSplit.Create(recipe.Split with { ForgetFraction = BaseFraction }, data.Name, data.Train.Count, data.Test.Count);

    /// <summary>The same members with another forget share (the forget order is seeded, so larger sets contain smaller ones).</summary>
    static MembershipSplit SplitFor(MembershipSplit split, double fraction) => fraction == BaseFraction
        ? split
        : MembershipSplit.Create(split.Settings with { ForgetFraction = fraction }, split.Dataset, split.TrainCount, split.TestCount);

    /// <summary>SISA reports a stopped shard as an error; here it is a stop like any other.</summary>
    T Stoppable<T>(string stage, Func<T> work)
    {
        try
        {
            return work();
        }
        catch (LetheException) when (cancel.IsCancellationRequested)
        {
            throw new ExperimentStoppedException($"stopped during {stage}; run reproduce again (SISA starts afresh, finished experiments are kept)");
        }
    }

    void StopIfAsked(string stage)
    {
        if (cancel.IsCancellationRequested) throw new ExperimentStoppedException($"stopped during {stage}; run reproduce again to continue (finished experiments are kept)");
    }
}
