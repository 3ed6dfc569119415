using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Lethe.Audits;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Storage;
using Lethe.Supervised;
using Lethe.Unlearning;
using static TorchSharp.torch;

namespace Lethe.Experiments;

/// <summary>What `lethe reproduce` measured: the tables, and how much was measured now rather than read from the cache.</summary>
/// <param name="CellSeconds">Wall-clock time the run's cells took when they were measured, whichever run measured them (training they triggered included).</param>
public sealed record ReproduceResult(
    ReproduceSettings Settings, IReadOnlyList<ResultTable> Tables, IReadOnlyDictionary<string, Measurement> Cells, int Measured, int Reused, double Seconds, double CellSeconds);

/// <summary>
/// Runs the paper's experiments (tables II to VII) and the method comparison. Every experiment is one cell: a model
/// (original, unlearned by some method, retrained, SISA) audited on one forget set, under one seed. Finished cells are
/// kept in cells/ with the settings that determine them, so an interrupted run continues where it stopped and a rerun
/// with other tables reuses what it can; training runs are cached and resumed in runs/ (<see cref="TrainedRuns"/>).
/// </summary>
public sealed class ReproducePipeline(ReproduceSettings settings, string folder, Device device)
{
    public const string CellsFolder = "cells";
    public const string AuditsFolder = "audits";
    public const string RunsFolder = "runs";

    /// <summary>Loads a data set by name (the CLI passes its --data-dir).</summary>
    public Func<string, Dataset> LoadData { get; init; } = name => Datasets.Load(Datasets.Parse(name));

    /// <summary>Trains an encoder run and returns whether it completed; the CLI plugs in a progress display here.</summary>
    public Func<PretrainSettings, Dataset, MembershipSplit, string, bool, CancellationToken, bool> TrainEncoder { get; init; } =
        (recipe, data, split, run, resume, cancel) => new ContrastiveTrainer(recipe, data, split, run, device).Run(resume, cancel).Completed;

    /// <summary>Trains a classifier run and returns whether it completed.</summary>
    public Func<ClassifierSettings, Dataset, MembershipSplit, string, bool, CancellationToken, bool> TrainClassifier { get; init; } =
        (recipe, data, split, run, resume, cancel) => new ClassifierTrainer(recipe, data, split, run, device).Run(resume, cancel).Completed;

    public Action<string>? OnStage { get; init; }

    public Action<UnlearningEpoch>? OnUnlearningEpoch { get; init; }

    /// <summary>Progress of SISA's shard training: shard, epoch metrics.</summary>
    public Action<int, ClassifierEpochMetrics>? OnShardEpoch { get; init; }

    readonly Dictionary<string, Dataset> datasets = [];
    readonly Dictionary<string, Measurement> cells = [];
    readonly Dictionary<string, double> cellSeconds = [];
    int measured;
    int reused;
    CancellationToken cancel;

    public ReproduceResult Run(CancellationToken cancel = default)
    {
        settings.Validate();
        this.cancel = cancel;
        var watch = Stopwatch.StartNew();
        var tables = new List<ResultTable>();
        if (settings.Runs("ii")) tables.Add(TableII());
        if (settings.Runs("iii")) tables.Add(TableIII());
        if (settings.Runs("iv")) tables.Add(TableIV());
        if (settings.Runs("v")) tables.Add(TableV());
        if (settings.Runs("vi")) tables.Add(TableVI());
        if (settings.Runs("vii")) tables.Add(TableVII());
        if (settings.Runs("methods")) tables.AddRange(MethodTables());
        return new ReproduceResult(settings, tables, cells, measured, reused, watch.Elapsed.TotalSeconds, cellSeconds.Values.Sum());
    }

    // ---- the tables ----

    const double BaseFraction = 0.2;

    ResultTable TableII()
    {
        var table = new ResultTable("table-ii", "Table II: before and after unlearning, per data set",
            $"{Name(settings.MainMethod)} encoders; the forget set is {Percent(BaseFraction)} of the members; MemGP with the default settings. " +
            "MIA: the EncoderMI threshold attack on the projection head's output, forget set against non-members. Model accuracy: kNN on the retained members.",
            ["data set", "model", "model acc", "linear probe", "MIA acc", "MIA recall", "MIA precision", "MIA AUC", "TPR at 1% FPR"]);
        foreach (var dataset in settings.DatasetNames)
        {
            foreach (var (model, m) in EncoderTriple(dataset, settings.MainMethod))
                table.Add(TableValue.Text(dataset), TableValue.Text(model), Pct(m, x => x.Utility), Pct(m, x => x.LinearProbe),
                    Pct(m, x => x.Forget.Accuracy), Pct(m, x => x.Forget.Recall), Pct(m, x => x.Forget.Precision), Num(m, x => x.Forget.Auc), Pct(m, x => x.Forget.TprAt1PercentFpr));
        }
        return table;
    }

    ResultTable TableIII()
    {
        var dataset = settings.MainDataset;
        var table = new ResultTable("table-iii", "Table III: MoCo, SimCLR and BYOL",
            $"Each method's encoder on {dataset}, before and after MemGP; MIA as in table II.",
            ["method", "ACC before", "ACC after", "MIA acc before", "MIA acc after", "AUC before", "AUC after", "TPR at 1% FPR after"]);
        foreach (var method in ReproduceSettings.ContrastiveMethods)
        {
            var before = Seeds(s => EncoderOriginal(dataset, method, s, BaseFraction));
            var after = Seeds(s => EncoderUnlearned(dataset, method, s, BaseFraction, "memgp", settings.Unlearning("memgp", false, s)));
            table.Add(TableValue.Text(Name(method)), Pct(before, x => x.Utility), Pct(after, x => x.Utility), Pct(before, x => x.Forget.Accuracy), Pct(after, x => x.Forget.Accuracy),
                Num(before, x => x.Forget.Auc), Num(after, x => x.Forget.Auc), Pct(after, x => x.Forget.TprAt1PercentFpr));
        }
        return table;
    }

    static readonly string[] AblationColumns = ["ACC", "MIA acc", "AUC", "forget top-1", "forget loss", "forget cos sim", "ended early"];

    TableValue[] Ablation(Measurement[] m) =>
        [Pct(m, x => x.Utility), Pct(m, x => x.Forget.Accuracy), Num(m, x => x.Forget.Auc), Num(m, x => x.ForgetTop1), Num(m, x => x.ForgetLoss), Num(m, x => x.ForgetSimilarity), Notes(m)];

    ResultTable TableIV()
    {
        var (dataset, method) = (settings.MainDataset, settings.MainMethod);
        var table = new ResultTable("table-iv", "Table IV: ablation of the full variant (MNorm, GP, MLoss)",
            $"The full variant (eq. 2) on the {Name(method)} encoder of {dataset} with each term's weight 1 or 0: MNorm is L_Norm (gamma), GP the penalty at " +
            "interpolates with shadow non-members (beta), MLoss the training loss on the forget set (alpha). The first row is the model before unlearning. " +
            "Top-1, loss and cosine similarity are the forget set's means on the head.",
            ["MNorm", "GP", "MLoss", .. AblationColumns]);
        var before = Seeds(s => EncoderOriginal(dataset, method, s, BaseFraction));
        table.Add([TableValue.Text("before"), TableValue.Text(""), TableValue.Text(""), .. Ablation(before)]);
        foreach (var (norm, gp, loss) in new[] { (1, 1, 1), (1, 1, 0), (1, 0, 0), (0, 1, 1), (1, 0, 1), (0, 1, 0) })
        {
            // All three terms is the full variant's default: the same cell as the method comparison's "gp".
            var after = Seeds(s => EncoderUnlearned(dataset, method, s, BaseFraction, (norm, gp, loss) == (1, 1, 1) ? "gp" : $"gp-n{norm}-g{gp}-l{loss}",
                settings.Unlearning("gp", false, s) with { Gamma = norm, Beta = gp, Alpha = loss }));
            table.Add([Mark(norm), Mark(gp), Mark(loss), .. Ablation(after)]);
        }
        return table;
    }

    ResultTable TableV()
    {
        var (dataset, method) = (settings.MainDataset, settings.MainMethod);
        var table = new ResultTable("table-v", "Table V: ablation of the optimized variant (MemGP, MLoss)",
            $"MemGP (eq. 3) on the {Name(method)} encoder of {dataset}, with and without the training loss on the forget set.",
            ["MemGP", "MLoss", .. AblationColumns]);
        table.Add([TableValue.Text("before"), TableValue.Text(""), .. Ablation(Seeds(s => EncoderOriginal(dataset, method, s, BaseFraction)))]);
        foreach (var loss in new[] { 1, 0 })
        {
            var after = Seeds(s => EncoderUnlearned(dataset, method, s, BaseFraction, loss == 1 ? "memgp" : "memgp-l0",
                settings.Unlearning("memgp", false, s) with { Alpha = loss }));
            table.Add([Mark(1), Mark(loss), .. Ablation(after)]);
        }
        return table;
    }

    ResultTable TableVI()
    {
        var (dataset, method) = (settings.MainDataset, settings.MainMethod);
        var members = settings.Encoder(method, dataset, settings.FirstSeed).Members;
        var table = new ResultTable("table-vi", "Table VI: forget-set sizes",
            $"MemGP on the {Name(method)} encoder of {dataset} ({members} members), forgetting a growing share of them. Before and after are measured on the same " +
            "forget set; the larger sets contain the smaller ones.",
            ["forgotten", "share", "ACC before", "MIA acc before", "AUC before", "ACC after", "MIA acc after", "AUC after", "forget top-1", "forget loss", "forget cos sim"]);
        foreach (var fraction in settings.ForgetFractions)
        {
            var before = Seeds(s => EncoderOriginal(dataset, method, s, fraction));
            var after = Seeds(s => EncoderUnlearned(dataset, method, s, fraction, "memgp", settings.Unlearning("memgp", false, s)));
            var forgotten = SplitFor(BaseSplit(members, settings.Encoder(method, dataset, settings.FirstSeed).NonMembers, settings.FirstSeed, Data(dataset)), fraction).Forget.Length;
            table.Add(TableValue.Text(forgotten.ToString(CultureInfo.InvariantCulture)), TableValue.Text(Percent(fraction)),
                Pct(before, x => x.Utility), Pct(before, x => x.Forget.Accuracy), Num(before, x => x.Forget.Auc),
                Pct(after, x => x.Utility), Pct(after, x => x.Forget.Accuracy), Num(after, x => x.Forget.Auc),
                Num(after, x => x.ForgetTop1), Num(after, x => x.ForgetLoss), Num(after, x => x.ForgetSimilarity));
        }
        return table;
    }

    ResultTable TableVII()
    {
        var table = new ResultTable("table-vii", "Table VII: supervised classifiers, before, after unlearning and retrained",
            "Classifiers trained on the members; MemGP with the classifier defaults (docs/baselines.md). MIA: the confidence (top-1 probability) threshold attack, " +
            "forget set against non-members. Top-1: mean top-1 probability of the forget set and of the non-members.",
            ["data set", "model", "test acc", "MIA acc", "AUC", "TPR at 1% FPR", "forget top-1", "non-member top-1"]);
        foreach (var dataset in settings.DatasetNames)
        {
            var rows = new (string, Measurement[])[]
            {
                ("before", Seeds(s => ClassifierOriginal(dataset, s))),
                ("after unlearning", Seeds(s => ClassifierUnlearned(dataset, s, "memgp"))),
                ("retrained", Seeds(s => ClassifierRetrained(dataset, s))),
            };
            foreach (var (model, m) in rows)
                table.Add(TableValue.Text(dataset), TableValue.Text(model), Pct(m, x => x.Utility), Pct(m, x => x.Forget.Accuracy), Num(m, x => x.Forget.Auc),
                    Pct(m, x => x.Forget.TprAt1PercentFpr), Num(m, x => x.ForgetTop1), Num(m, x => x.NonMemberTop1));
        }
        return table;
    }

    static readonly string[] EncoderMethods = ["memgp", "gp", "finetune", "neggrad", "neggrad+", "alignment"];
    static readonly string[] ClassifierMethods = ["memgp", "gp", "finetune", "neggrad", "neggrad+", "random-labels"];

    IEnumerable<ResultTable> MethodTables()
    {
        var (dataset, method) = (settings.MainDataset, settings.MainMethod);
        var columns = new[] { "method", "forget AUC", "gap to retrained", "TPR at 1% FPR", "retained AUC", "utility", "utility gap", "seconds", "speed-up over retraining" };
        var encoder = new ResultTable("methods-encoder", "Every unlearning method on one encoder",
            $"The {Name(method)} encoder of {dataset}, forget set {Percent(BaseFraction)} of the members. Forget and retained AUC: EncoderMI threshold attack on the head " +
            "(the retrained model's retained AUC is what an unlearned model should keep). Utility: kNN accuracy. Gaps are method minus retrained, per seed. " +
            "Seconds: training steps only (evaluations excluded), for the unlearning run or the retraining.", columns);
        var retrained = Seeds(s => EncoderRetrained(dataset, method, s));
        encoder.Add(MethodRow("original", Seeds(s => EncoderOriginal(dataset, method, s, BaseFraction)), retrained));
        encoder.Add(MethodRow("retrained (exact)", retrained, retrained));
        foreach (var m in EncoderMethods)
            encoder.Add(MethodRow(MethodLabel(m), Seeds(s => EncoderUnlearned(dataset, method, s, BaseFraction, m, settings.Unlearning(m, false, s))), retrained));
        yield return encoder;

        var classifier = new ResultTable("methods-classifier", "Every unlearning method on one classifier",
            $"The classifier of {dataset}, the same forget-set share. Forget and retained AUC: the confidence threshold attack. Utility: test accuracy. " +
            $"SISA: {settings.SisaShards} shards trained on the members, then the forget set deleted by retraining the shards that held it.", columns);
        var classifierRetrained = Seeds(s => ClassifierRetrained(dataset, s));
        classifier.Add(MethodRow("original", Seeds(s => ClassifierOriginal(dataset, s)), classifierRetrained));
        classifier.Add(MethodRow("retrained (exact)", classifierRetrained, classifierRetrained));
        var sisa = settings.SeedValues.Select(s => Sisa(dataset, s)).ToArray();
        classifier.Add(MethodRow("SISA, before deletion", [.. sisa.Select(p => p.Before)], classifierRetrained, unlearningTime: false));
        classifier.Add(MethodRow("SISA (exact)", [.. sisa.Select(p => p.After)], classifierRetrained));
        foreach (var m in ClassifierMethods)
            classifier.Add(MethodRow(MethodLabel(m), Seeds(s => ClassifierUnlearned(dataset, s, m)), classifierRetrained));
        yield return classifier;
    }

    /// <param name="unlearningTime">False for a model that no deletion produced (SISA before deletion): no time is shown.</param>
    static TableValue[] MethodRow(string label, Measurement[] m, Measurement[] retrained, bool unlearningTime = true) =>
    [
        TableValue.Text(label),
        Num(m, x => x.Forget.Auc),
        TableValue.Numbers([.. m.Zip(retrained, (a, r) => a.Forget.Auc - r.Forget.Auc)], "signed"),
        Pct(m, x => x.Forget.TprAt1PercentFpr),
        Num(m, x => x.RetainAuc),
        Pct(m, x => x.Utility),
        TableValue.Numbers([.. m.Zip(retrained, (a, r) => a.Utility - r.Utility)], "signed-percent"),
        TableValue.Numbers(!unlearningTime || m.Any(x => x.Seconds is null) ? null : [.. m.Select(x => x.Seconds!.Value)], "seconds"),
        TableValue.Numbers(!unlearningTime || m.Any(x => x.Seconds is null) ? null : [.. m.Zip(retrained, (a, r) => r.Seconds!.Value / Math.Max(1e-9, a.Seconds!.Value))], "ratio"),
    ];

    static string MethodLabel(string method) => method switch
    {
        "memgp" => "MemGP (paper, optimized)",
        "gp" => "GP (paper, full)",
        "finetune" => "fine-tune",
        "neggrad" => "NegGrad",
        "neggrad+" => "NegGrad+",
        "random-labels" => "random labels",
        "alignment" => "Alignment Calibration",
        _ => method,
    };

    // ---- encoder cells ----

    IEnumerable<(string Model, Measurement[] M)> EncoderTriple(string dataset, string method) =>
    [
        ("before", Seeds(s => EncoderOriginal(dataset, method, s, BaseFraction))),
        ("after unlearning", Seeds(s => EncoderUnlearned(dataset, method, s, BaseFraction, "memgp", settings.Unlearning("memgp", false, s)))),
        ("retrained", Seeds(s => EncoderRetrained(dataset, method, s))),
    ];

    Measurement EncoderOriginal(string dataset, string method, long seed, double fraction)
    {
        var recipe = settings.Encoder(method, dataset, seed);
        var audit = settings.Audit(seed);
        return Cell(Key(seed, dataset, method, fraction, "original"), new { recipe, audit, fraction }, () =>
        {
            var (data, split) = EncoderRun(recipe, "pretrain");
            using var model = PretrainRun.Open(RunPath(recipe, "pretrain"), data: data).LoadModel(device);
            var report = Audit("original", model, data, SplitFor(split, fraction), recipe, audit);
            return (Measurement.Of(report), report);
        });
    }

    Measurement EncoderUnlearned(string dataset, string method, long seed, double fraction, string label, UnlearningSettings unlearning)
    {
        var recipe = settings.Encoder(method, dataset, seed);
        var audit = settings.Audit(seed);
        return Cell(Key(seed, dataset, method, fraction, label), new { recipe, audit, fraction, unlearning }, () =>
        {
            var (data, baseSplit) = EncoderRun(recipe, "pretrain");
            var split = SplitFor(baseSplit, fraction);
            using var model = PretrainRun.Open(RunPath(recipe, "pretrain"), data: data).LoadModel(device);
            OnStage?.Invoke($"unlearn {Name(method)} on {dataset} with {label} (forget {split.Forget.Length}, seed {seed})");
            var result = new Unlearner(model, unlearning, recipe.Augmentation, device) { OnEpoch = OnUnlearningEpoch }
                .Run(data.Train, split.Forget, split.ShadowNonMembers, cancel, split.Retain);
            StopIfAsked("unlearning");
            var report = Audit(label, model, data, split, recipe, audit);
            return (Measurement.Of(report, result.Seconds, StopNote(result, unlearning)), report);
        });
    }

    Measurement EncoderRetrained(string dataset, string method, long seed)
    {
        var recipe = settings.Encoder(method, dataset, seed);
        var audit = settings.Audit(seed);
        return Cell(Key(seed, dataset, method, BaseFraction, "retrained"), new { recipe, audit }, () =>
        {
            var retrain = recipe with { TrainOn = "retain" };
            var (data, split) = EncoderRun(retrain, "retrain");
            var seconds = TrainedRuns.StepSeconds(RunPath(recipe, "retrain"));
            using var model = PretrainRun.Open(RunPath(recipe, "retrain"), data: data).LoadModel(device);
            var report = Audit("retrained", model, data, split, recipe, audit);
            return (Measurement.Of(report, seconds), report);
        });
    }

    /// <summary>Makes sure the run (pretrain on the members or retrain on the retained ones) has finished; returns its data and split.</summary>
    (Dataset Data, MembershipSplit Split) EncoderRun(PretrainSettings recipe, string kind)
    {
        recipe.Validate();
        return EnsureRun(recipe, recipe.Dataset, recipe.Seed, recipe.Members, recipe.NonMembers, RunPath(recipe, kind), $"{kind} {Name(recipe.Method)}", TrainEncoder);
    }

    /// <summary>The classifier's counterpart of <see cref="EncoderRun"/>.</summary>
    (Dataset Data, MembershipSplit Split) ClassifierRunOf(ClassifierSettings recipe, string kind)
    {
        recipe.Validate();
        return EnsureRun(recipe, recipe.Dataset, recipe.Seed, recipe.Members, recipe.NonMembers, ClassifierPath(recipe, kind), $"{kind} the classifier", TrainClassifier);
    }

    (Dataset Data, MembershipSplit Split) EnsureRun<TRecipe>(
        TRecipe recipe, string dataset, long seed, int members, int nonMembers, string run, string stage,
        Func<TRecipe, Dataset, MembershipSplit, string, bool, CancellationToken, bool> train)
    {
        var data = Data(dataset);
        var split = BaseSplit(members, nonMembers, seed, data);
        TrainedRuns.Ensure(stage, recipe, split, run, resume =>
        {
            OnStage?.Invoke($"{stage} on {dataset} (seed {seed})");
            return train(recipe, data, split, run, resume, cancel);
        }, "run reproduce again");
        return (data, split);
    }

    EncoderAuditReport Audit(string name, ContrastiveModel model, Dataset data, MembershipSplit split, PretrainSettings recipe, AuditSettings audit)
    {
        OnStage?.Invoke($"audit {name} ({split.Forget.Length} forgotten)");
        return EncoderAudit.Run(name, model, data, split, recipe, audit, device).Report;
    }

    // ---- classifier cells ----

    Measurement ClassifierOriginal(string dataset, long seed)
    {
        var recipe = settings.Classifier(dataset, seed);
        var audit = settings.Audit(seed);
        return Cell(Key(seed, dataset, "classifier", BaseFraction, "original"), new { recipe, audit }, () =>
        {
            var (data, split) = ClassifierRunOf(recipe, "train");
            using var model = ClassifierRun.Open(ClassifierPath(recipe, "train"), data: data).LoadModel(device);
            var report = ClassifierAudit.Run("original", model, data, split, audit, device);
            return (Measurement.Of(report), report);
        });
    }

    Measurement ClassifierUnlearned(string dataset, long seed, string method)
    {
        var recipe = settings.Classifier(dataset, seed);
        var audit = settings.Audit(seed);
        var unlearning = settings.Unlearning(method, true, seed);
        return Cell(Key(seed, dataset, "classifier", BaseFraction, method), new { recipe, audit, unlearning }, () =>
        {
            var (data, split) = ClassifierRunOf(recipe, "train");
            using var model = ClassifierRun.Open(ClassifierPath(recipe, "train"), data: data).LoadModel(device);
            OnStage?.Invoke($"unlearn the classifier on {dataset} with {method} (forget {split.Forget.Length}, seed {seed})");
            var result = new Unlearner(new ClassifierTarget(model), unlearning, device) { OnEpoch = OnUnlearningEpoch }
                .Run(data.Train, split.Forget, split.ShadowNonMembers, cancel, split.Retain);
            StopIfAsked("unlearning");
            OnStage?.Invoke($"audit classifier {method}");
            var report = ClassifierAudit.Run(method, model, data, split, audit, device);
            return (Measurement.Of(report, result.Seconds, StopNote(result, unlearning)), report);
        });
    }

    Measurement ClassifierRetrained(string dataset, long seed)
    {
        var recipe = settings.Classifier(dataset, seed);
        var audit = settings.Audit(seed);
        return Cell(Key(seed, dataset, "classifier", BaseFraction, "retrained"), new { recipe, audit }, () =>
        {
            var (data, split) = ClassifierRunOf(recipe with { TrainOn = "retain" }, "retrain");
            var seconds = TrainedRuns.StepSeconds(ClassifierPath(recipe, "retrain"));
            using var model = ClassifierRun.Open(ClassifierPath(recipe, "retrain"), data: data).LoadModel(device);
            var report = ClassifierAudit.Run("retrained", model, data, split, audit, device);
            return (Measurement.Of(report, seconds), report);
        });
    }

    /// <summary>SISA before and after deleting the forget set. Both cells are measured together: deletion changes the shards in place.</summary>
    (Measurement Before, Measurement After) Sisa(string dataset, long seed)
    {
        var recipe = settings.Classifier(dataset, seed);
        var audit = settings.Audit(seed);
        var signature = new { recipe = SisaRecipe(recipe), audit, shards = settings.SisaShards };
        var beforeKey = Key(seed, dataset, "classifier", BaseFraction, "sisa-before");
        var afterKey = Key(seed, dataset, "classifier", BaseFraction, "sisa");
        if (Cached(beforeKey, signature, count: false) is { } b && Cached(afterKey, signature, count: false) is { } a)
        {
            reused += 2;
            return (b, a);
        }
        StopIfAsked("the experiments");
        var watch = Stopwatch.StartNew();

        var data = Data(dataset);
        var split = BaseSplit(recipe.Members, recipe.NonMembers, seed, data);
        var sisaFolder = RunPath(seed, dataset, "classifier", "sisa");
        if (Directory.Exists(sisaFolder)) Directory.Delete(sisaFolder, recursive: true); // a stopped SISA run starts afresh
        var sisa = new Sisa(SisaRecipe(recipe), data, split, sisaFolder, device) { OnShardEpoch = OnShardEpoch };
        OnStage?.Invoke($"SISA: train {settings.SisaShards} shards of the classifier on {dataset} (seed {seed})");
        Stoppable("SISA training", () => sisa.Train(settings.SisaShards, cancel));
        var trained = Enumerable.Range(0, settings.SisaShards).Sum(s => TrainedRuns.StepSeconds(sisa.ShardFolder(s)));
        var before = AuditSisa("sisa-before", sisa, data, split, audit, trained);
        var beforeSeconds = watch.Elapsed.TotalSeconds;
        OnStage?.Invoke($"SISA: delete {split.Forget.Length} members");
        var affected = Stoppable("SISA deletion", () => sisa.Delete(split.Forget, cancel));
        var seconds = affected.Sum(s => TrainedRuns.StepSeconds(sisa.ShardFolder(s)));
        var after = AuditSisa("sisa", sisa, data, split, audit, seconds, $"retrained {affected.Count} of {settings.SisaShards} shards");
        Store(beforeKey, signature, before, beforeSeconds);
        Store(afterKey, signature, after, watch.Elapsed.TotalSeconds - beforeSeconds);
        return (before.Measurement, after.Measurement);
    }

    /// <summary>
    /// The classifier recipe per shard. A shard holds members/shards samples and loses about a fifth of them on deletion;
    /// the batch is capped at half a shard so that what is left still fills a batch (the small scale's 64 members per
    /// shard would otherwise drop to about 51, under its batch of 64).
    /// </summary>
    ClassifierSettings SisaRecipe(ClassifierSettings recipe) =>
        recipe with { BatchSize = Math.Max(1, Math.Min(recipe.BatchSize, recipe.Members / settings.SisaShards / 2)) };

    (Measurement Measurement, object Report) AuditSisa(string name, Sisa sisa, Dataset data, MembershipSplit split, AuditSettings audit, double seconds, string? note = null)
    {
        OnStage?.Invoke($"audit {name}");
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

    /// <summary>Why a run ended before its last epoch: divergence (weights restored) or the penalty's stopping rule.</summary>
    static string? StopNote(UnlearningResult result, UnlearningSettings unlearning) =>
        result.Diverged ? "diverged" : result.Epochs.Count < unlearning.Epochs ? $"stopped after {result.Epochs.Count} epochs" : null;

    // ---- cells, runs and splits ----

    /// <param name="Seconds">Wall-clock time of measuring the cell, training it triggered included.</param>
    sealed record CellFile(string Key, string Signature, Measurement Measurement, double Seconds);

    Measurement[] Seeds(Func<long, Measurement> cell) => [.. settings.SeedValues.Select(cell)];

    static string Key(long seed, string dataset, string model, double fraction, string name) => $"seed-{seed}/{dataset}/{model}/{ForgetFolder(fraction)}/{name}";

    /// <summary>The part of a cell's key that names its forget share, e.g. forget-20pct.</summary>
    public static string ForgetFolder(double fraction) => $"forget-{Math.Round(fraction * 100, 1).ToString(CultureInfo.InvariantCulture)}pct";

    Measurement Cell(string key, object determinants, Func<(Measurement Measurement, object Report)> compute)
    {
        if (Cached(key, determinants) is { } cached) return cached;
        StopIfAsked("the experiments");
        var watch = Stopwatch.StartNew();
        var computed = compute();
        Store(key, determinants, computed, watch.Elapsed.TotalSeconds);
        return computed.Measurement;
    }

    /// <summary>The cell if it is known with these settings; <paramref name="count"/> counts it as reused.</summary>
    Measurement? Cached(string key, object determinants, bool count = true)
    {
        if (cells.TryGetValue(key, out var known)) return known; // measured or read earlier in this run
        var path = CellPath(key);
        if (!File.Exists(path)) return null;
        try
        {
            var cell = LetheJson.ReadFile<CellFile>(path, "experiment cell");
            if (cell.Signature != LetheJson.Serialize(determinants)) return null;
            if (count) reused++;
            cells[key] = cell.Measurement;
            cellSeconds[key] = cell.Seconds;
            return cell.Measurement;
        }
        catch (Exception e) when (e is LetheException or JsonException)
        {
            return null; // a damaged cell is measured again
        }
    }

    void Store(string key, object determinants, (Measurement Measurement, object Report) computed, double seconds)
    {
        LetheJson.WriteFile(Path.Combine(folder, AuditsFolder, key + ".json"), computed.Report);
        LetheJson.WriteFile(CellPath(key), new CellFile(key, LetheJson.Serialize(determinants), computed.Measurement, seconds));
        measured++;
        cells[key] = computed.Measurement;
        cellSeconds[key] = seconds;
    }

    string CellPath(string key) => Path.Combine(folder, CellsFolder, key + ".json");

    string RunPath(long seed, string dataset, string model, string kind) => Path.Combine(folder, RunsFolder, $"seed-{seed}", dataset, model, kind);

    string RunPath(PretrainSettings recipe, string kind) => RunPath(recipe.Seed, recipe.Dataset, recipe.Method, kind);

    string ClassifierPath(ClassifierSettings recipe, string kind) => RunPath(recipe.Seed, recipe.Dataset, "classifier", kind);

    Dataset Data(string name)
    {
        if (!datasets.TryGetValue(name, out var data)) datasets[name] = data = LoadData(name);
        return data;
    }

    /// <summary>The split every training run uses: the recipe's sizes, the paper's 20% forget set.</summary>
    static MembershipSplit BaseSplit(int members, int nonMembers, long seed, Dataset data) => MembershipSplit.Create(
        new SplitSettings { Members = members, NonMembers = nonMembers, ForgetFraction = BaseFraction, Seed = seed }, data.Name, data.Train.Count, data.Test.Count);

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

    // ---- formatting ----

    static string Name(string method) => method switch { "moco" => "MoCo", "simclr" => "SimCLR", "byol" => "BYOL", _ => method };

    static string Percent(double fraction) => (fraction * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    static TableValue Mark(int on) => TableValue.Text(on == 1 ? "✓" : "✗");

    static TableValue Pct(Measurement[] m, Func<Measurement, double?> value) =>
        TableValue.Numbers(m.Any(x => value(x) is null) ? null : [.. m.Select(x => value(x)!.Value)], "percent");

    static TableValue Num(Measurement[] m, Func<Measurement, double?> value) =>
        TableValue.Numbers(m.Any(x => value(x) is null) ? null : [.. m.Select(x => value(x)!.Value)], "number");

    static TableValue Notes(Measurement[] m) => TableValue.Text(string.Join("; ", m.Select(x => x.Note).Where(n => n is not null).Distinct()));
}
