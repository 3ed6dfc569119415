using System.Globalization;
using System.Text.Json;
using Lethe.Audits;
using Lethe.Data;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using Lethe.Unlearning;
using static TorchSharp.torch;

namespace Lethe.Requests;

/// <summary>A utility figure as a version row keeps it (JSON).</summary>
public sealed record UtilityValue(string Measure, double Value);

/// <summary>What `requests process` did: the requests answered, and whether it stopped early.</summary>
public sealed record ProcessSummary(IReadOnlyList<Certificate> Processed, int StillPending, bool Stopped);

/// <summary>
/// A model store: model versions and the ledger of the deletion requests that made them (docs/deletion-ledger.md).
/// <code>
/// policy.json          the unlearning method and settings, the audit, the thresholds
/// store.key            the salt of the sample hashes (mode 0600)
/// ledger.db            SQLite: requests, versions, outcomes, forgotten hashes
/// base/                the training run the store started from (settings.json, split.json[, import.json])
/// versions/vNNNN.ckpt  model versions; v0000 is the model the store started from
/// certificates/rNNNN.json, .md, .html   one certificate per processed request
/// pending/rNNNN.list   a request's forget list, kept only until it is processed
/// </code>
/// Every command holds the store's lock. Files are written under a temporary name and renamed, and a request's outcome is
/// one ledger transaction, so a process killed at any point leaves either the state before that request or after it,
/// plus files the next run removes (<see cref="Recover"/>).
/// </summary>
public sealed class ModelStore : IDisposable
{
    public const string BaseFolder = "base";
    public const string VersionsFolder = "versions";
    public const string CertificatesFolder = "certificates";
    public const string PendingFolder = "pending";

    readonly StoreLock storeLock;
    readonly string? dataDirectory;
    TrainingRun? baseRun;

    public string Root { get; }

    public Ledger Ledger { get; }

    StoreKey? key;

    /// <summary>The salt of the sample hashes (read on first use).</summary>
    public StoreKey Key => key ??= StoreKey.Read(File(StoreKey.FileName));

    /// <summary>The files fixed when the store was made (policy, key, base run) and their SHA-256, from the ledger.</summary>
    public IEnumerable<(string File, string Sha256)> FixedFiles() =>
        Meta.Where(m => m.Key.StartsWith(ShaPrefix, StringComparison.Ordinal)).Select(m => (m.Key[ShaPrefix.Length..], m.Value));

    const string ShaPrefix = "sha256:";

    /// <summary>The policy file's SHA-256, as recorded when the store was made.</summary>
    public string PolicySha256 => Meta.GetValueOrDefault(ShaPrefix + StorePolicy.FileName) ?? throw new DataFormatException(Ledger.Path, $"is damaged: it records no SHA-256 of {StorePolicy.FileName}");

    public StorePolicy Policy { get; }

    public TrainingSettings BaseSettings { get; }

    public IReadOnlyDictionary<string, string> Meta { get; }

    ModelStore(string root, StoreLock storeLock, Ledger ledger, string? dataDirectory)
    {
        Root = root;
        this.storeLock = storeLock;
        Ledger = ledger;
        Meta = ledger.Meta();
        this.dataDirectory = dataDirectory ?? (Meta.GetValueOrDefault("data_dir") is { Length: > 0 } d ? d : null);
        // The files fixed when the store was made are checked before anything is read from them.
        foreach (var (relative, sha) in FixedFiles())
        {
            var path = File(relative);
            if (!System.IO.File.Exists(path)) throw new LetheException($"{path} is missing (lethe requests verify)");
            if (Checkpoint.FileSha256(path) != sha) throw new DataFormatException(path, "has changed: it does not match the SHA-256 recorded when the store was made");
        }
        BaseSettings = TrainingRun.ReadSettings(File(BaseFolder));
        Policy = StorePolicy.Read(File(StorePolicy.FileName), !BaseSettings.IsEncoder);
    }

    /// <summary>A path inside the store.</summary>
    public string File(string relative) => Path.Combine(Root, relative);

    public static string VersionFile(long id) => $"{VersionsFolder}/v{id:D4}.ckpt";

    public static string PendingFile(long request) => $"{PendingFolder}/r{request:D4}.list";

    public static string CertificateFile(long request, string extension) => $"{CertificatesFolder}/{Certificate.FileStem(request)}.{extension}";

    /// <summary>The training run the store started from, with its data set (loaded on first use).</summary>
    public TrainingRun Base => baseRun ??= TrainingRun.Open(File(BaseFolder), dataDirectory);

    /// <summary>Opens a store, taking its lock (waiting up to <paramref name="wait"/> for another process).</summary>
    public static ModelStore Open(string root, string? dataDirectory = null, TimeSpan wait = default)
    {
        if (!Directory.Exists(root)) throw new LetheException($"no store at {root} (make one with lethe store init)");
        if (!System.IO.File.Exists(Path.Combine(root, Ledger.FileName)))
            throw new LetheException($"{root} is not a Lethe store: it has no {Ledger.FileName}");
        var storeLock = StoreLock.Take(root, wait);
        Ledger? ledger = null;
        try
        {
            ledger = Ledger.Open(Path.Combine(root, Ledger.FileName));
            return new ModelStore(root, storeLock, ledger, dataDirectory);
        }
        catch
        {
            ledger?.Dispose();
            storeLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes a store at <paramref name="root"/> from a finished training run: copies its recipe and split, makes its
    /// final checkpoint version 0, measures that version's utility, writes the policy, a fresh key and the ledger. The
    /// store is built in a temporary folder beside <paramref name="root"/> and renamed into place when complete.
    /// <paramref name="source"/> says where the model came from (default: the run folder).
    /// </summary>
    public static void Init(string root, TrainingRun run, string? dataDirectory, StorePolicy policy, Device device, string? source = null, Action<string>? log = null)
    {
        root = Path.GetFullPath(root);
        CheckNewStore(root);
        if (!System.IO.File.Exists(run.FinalCheckpoint)) throw new LetheException($"the run in {run.Folder} has not finished: it has no {RunFolder.FinalCheckpoint}");
        policy.Validate(StorePolicy.FileName, !run.Settings.IsEncoder);
        var parent = Path.GetDirectoryName(root) ?? ".";
        // The first missing folder above the store, removed again when the store cannot be made.
        var created = Path.GetFullPath(parent);
        while (Path.GetDirectoryName(created) is { } above && !Directory.Exists(above)) created = above;
        if (Directory.Exists(created)) created = "";
        Folders.Create(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(root)}.init-{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(Path.Combine(temp, BaseFolder));
            Directory.CreateDirectory(Path.Combine(temp, VersionsFolder));
            Directory.CreateDirectory(Path.Combine(temp, CertificatesFolder));
            Directory.CreateDirectory(Path.Combine(temp, PendingFolder));
            var meta = new Dictionary<string, string>
            {
                ["created"] = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture),
                ["source"] = source ?? Path.GetFullPath(run.Folder),
                ["data_dir"] = dataDirectory is null ? "" : Path.GetFullPath(dataDirectory),
                ["dataset"] = run.Settings.Dataset,
                ["lethe"] = ToolVersionsNow().Lethe,
            };
            foreach (var name in new[] { RunFolder.SettingsFile, RunFolder.SplitFile, Models.ImportReport.FileName })
            {
                var from = Path.Combine(run.Folder, name);
                if (!System.IO.File.Exists(from)) continue;
                System.IO.File.Copy(from, Path.Combine(temp, BaseFolder, name));
                meta[$"sha256:{BaseFolder}/{name}"] = Checkpoint.FileSha256(from);
            }
            LetheJson.WriteFile(Path.Combine(temp, StorePolicy.FileName), policy);
            meta[$"sha256:{StorePolicy.FileName}"] = Checkpoint.FileSha256(Path.Combine(temp, StorePolicy.FileName));
            StoreKey.Create(Path.Combine(temp, StoreKey.FileName));
            meta[$"sha256:{StoreKey.FileName}"] = Checkpoint.FileSha256(Path.Combine(temp, StoreKey.FileName));

            // The run's model is loaded (and so checked) where it is, so that an error names the run's file.
            log?.Invoke("measuring the utility of version 0");
            IReadOnlyList<(string Measure, double Value)> utility;
            using (var model = run.LoadModel(device))
                utility = Audit.Utility(model, run.Data, run.Split.Members, policy.Audit, device);
            var first = Path.Combine(temp, VersionFile(0));
            System.IO.File.Copy(run.FinalCheckpoint, first);
            var manifest = Checkpoint.ReadManifest(first);
            using (var ledger = Ledger.Create(Path.Combine(temp, Ledger.FileName), meta))
                ledger.AddFirstVersion(VersionFile(0), Checkpoint.FileSha256(first), manifest.Sha256["model.bin"], DateTimeOffset.UtcNow, UtilityJson(utility));
            if (Directory.Exists(root)) Directory.Delete(root);
            Directory.Move(temp, root);
            Posix.SyncFolder(parent);
        }
        catch when (created.Length > 0 && Directory.Exists(created))
        {
            Directory.Delete(created, recursive: true);
            throw;
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>Refuses a store folder that already holds a store or anything else.</summary>
    public static void CheckNewStore(string root)
    {
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
            throw new LetheException(System.IO.File.Exists(Path.Combine(root, Ledger.FileName)) ? $"{root} already holds a store" : $"{root} is not empty: a store needs a new folder");
    }

    static string UtilityJson(IEnumerable<(string Measure, double Value)> utility) =>
        JsonSerializer.Serialize(utility.Select(u => new UtilityValue(u.Measure, u.Value)).ToArray(), LetheJson.Compact);

    static UtilityValue[] ReadUtility(string json) => JsonSerializer.Deserialize<UtilityValue[]>(json, LetheJson.Compact) ?? [];

    static ToolVersions ToolVersionsNow() => new(
        typeof(ModelStore).Assembly.GetName().Version?.ToString(3) ?? "unknown",
        typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3) ?? "unknown",
        System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);

    /// <summary>The members of the store's model that no processed request has forgotten, and the hash of every member.</summary>
    (HashSet<int> Remaining, Dictionary<int, string> Hashes) Members()
    {
        var forgotten = Ledger.Forgotten();
        var train = Base.Data.Train;
        var hashes = Base.Split.Members.ToDictionary(m => m, m => Key.Hash(train.SampleId(m)));
        return (hashes.Where(h => !forgotten.ContainsKey(h.Value)).Select(h => h.Key).ToHashSet(), hashes);
    }

    /// <summary>
    /// Records a request to forget the samples <paramref name="listPath"/> names (ids as `lethe data info --ids` lists
    /// them). Every line must name a member; a list naming every member not yet forgotten is refused. The list is kept
    /// in pending/ until the request is processed.
    /// </summary>
    public RequestRow AddRequest(string listPath, string? reference)
    {
        if (reference is not null && (reference.Length > 200 || reference.Any(char.IsControl)))
            throw new LetheException("--reference must be one line of at most 200 characters");
        var data = Base.Data;
        var ids = SampleList.ReadForget(listPath, data, Base.Split.Members);
        if (ids.Count < 2)
            throw new LetheException($"{listPath}: names 1 sample; the unlearning methods need at least 2 per request (batch norm and the contrastive loss need pairs): send it with another");
        var (remaining, _) = Members();
        if (remaining.IsSubsetOf(ids))
            throw new LetheException($"{listPath}: names every member not yet forgotten ({remaining.Count}): nothing would remain; retrain from scratch instead");
        // What the requests before it will have forgotten by the time it is processed.
        var pendingIds = Pending().SelectMany(r => SampleList.ReadForget(File(PendingFile(r.Id)), data, Base.Split.Members)).ToHashSet();
        var fresh = ids.Count(i => remaining.Contains(i) && !pendingIds.Contains(i));
        if (fresh == 1)
            throw new LetheException($"{listPath}: names 1 sample that no earlier request forgets; the unlearning methods need at least 2 per request: send it with another");
        if (fresh > 0 && remaining.Except(pendingIds).Except(ids).Count() < 2)
            throw new LetheException($"{listPath}: with the pending requests it leaves fewer than 2 members; retrain from scratch instead");
        var id = Ledger.Requests().Select(r => r.Id).DefaultIfEmpty(0).Max() + 1;
        var pending = File(PendingFile(id));
        // Sample ids as the data set names them, one per line, readable by the owner only.
        WritePrivate(pending, string.Concat(ids.Select(i => data.Train.SampleId(i) + "\n")));
        try
        {
            FaultPoints.Reach("add:list-written");
            var row = Ledger.AddRequest(reference, DateTimeOffset.UtcNow, ids.Count, Checkpoint.FileSha256(pending));
            if (row.Id != id) throw new InvalidOperationException($"request id {row.Id} differs from the pending list's {id}");
            return row;
        }
        catch
        {
            System.IO.File.Delete(pending);
            throw;
        }
    }

    static void WritePrivate(string path, string text) => AtomicFile.Write(path, stream =>
    {
        if (!OperatingSystem.IsWindows() && stream is FileStream file) System.IO.File.SetUnixFileMode(file.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
    });

    /// <summary>The requests without an outcome, oldest first.</summary>
    public List<RequestRow> Pending()
    {
        var done = Ledger.Outcomes().Select(o => o.Request).ToHashSet();
        return Ledger.Requests().Where(r => !done.Contains(r.Id)).ToList();
    }

    /// <summary>
    /// Removes what an interrupted command left: half-written files, version files and certificates the ledger never
    /// recorded, and pending lists of requests that were processed (or never recorded). Returns one line per file.
    /// </summary>
    public List<string> Recover()
    {
        var removed = new List<string>();
        var (problem, stale) = Ledger.CheckStamp();
        if (problem is not null) throw new DataFormatException(Ledger.Path, $"{problem} (lethe requests verify)");
        if (stale)
        {
            if (Ledger.CheckChain() is { } broken) throw new DataFormatException(Ledger.Path, $"is damaged: {broken}");
            Ledger.Stamp();
            removed.Add($"updated {Ledger.StampFileName}: a run was interrupted after its commit, before it stamped the ledger");
        }
        void Remove(string path, string why)
        {
            System.IO.File.Delete(path);
            removed.Add($"removed {Path.GetRelativePath(Root, path)}: {why}");
        }

        foreach (var temp in Directory.EnumerateFiles(Root, ".*.tmp", SearchOption.AllDirectories).ToList())
            Remove(temp, "a file an interrupted run left half-written");
        var versions = Ledger.Versions().Select(v => v.File).ToHashSet();
        foreach (var file in Files(VersionsFolder).Where(f => !versions.Contains(Relative(f))))
            Remove(file, "a model version an interrupted run wrote but never recorded");
        var outcomes = Ledger.Outcomes().Select(o => o.Request).ToHashSet();
        var requests = Ledger.Requests().Select(r => r.Id).ToHashSet();
        foreach (var file in Files(CertificatesFolder).Where(f => RequestOf(f) is not { } r || !outcomes.Contains(r)))
            Remove(file, "a certificate an interrupted run wrote but never recorded");
        foreach (var file in Files(PendingFolder))
        {
            if (RequestOf(file) is { } r && outcomes.Contains(r)) Remove(file, $"the forget list of request {r}, which was processed");
            else if (RequestOf(file) is not { } known || !requests.Contains(known)) Remove(file, "a forget list whose request was never recorded (an interrupted requests add)");
        }
        return removed;
    }

    IEnumerable<string> Files(string folder) =>
        Directory.Exists(File(folder)) ? Directory.EnumerateFiles(File(folder)).Order(StringComparer.Ordinal).ToList() : [];

    string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    /// <summary>The request a certificate or pending list belongs to, from its name (r0003.json: 3).</summary>
    static long? RequestOf(string path)
    {
        var name = Path.GetFileName(path);
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return name.Length > 1 && name[0] == 'r' && dot > 1 && long.TryParse(name[1..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
    }

    /// <summary>
    /// Processes every pending request in order, each on the newest version: unlearn its samples not yet forgotten, audit
    /// the result, write the new version and the certificate, and record it all in one transaction. Stops between
    /// requests (or discards the one under way) when <paramref name="cancel"/> fires.
    /// </summary>
    public ProcessSummary Process(Device device, Action<string>? log = null, Action<UnlearningEpoch>? onEpoch = null, CancellationToken cancel = default)
    {
        FaultPoints.Reach("process:start");
        var processed = new List<Certificate>();
        var pending = Pending();
        foreach (var request in pending)
        {
            if (cancel.IsCancellationRequested) break;
            var certificate = ProcessOne(request, device, log, onEpoch, cancel);
            if (certificate is null) break;
            processed.Add(certificate);
        }
        return new ProcessSummary(processed, pending.Count - processed.Count, cancel.IsCancellationRequested);
    }

    Certificate? ProcessOne(RequestRow request, Device device, Action<string>? log, Action<UnlearningEpoch>? onEpoch, CancellationToken cancel)
    {
        FaultPoints.Reach("process:request");
        var listPath = File(PendingFile(request.Id));
        if (!System.IO.File.Exists(listPath))
            throw new LetheException($"{PendingFile(request.Id)} is missing: request {request.Id} cannot be processed without its forget list");
        if (Checkpoint.FileSha256(listPath) != request.ListSha256)
            throw new DataFormatException(listPath, $"does not match the SHA-256 recorded when request {request.Id} was added");
        var data = Base.Data;
        var ids = SampleList.ReadForget(listPath, data, Base.Split.Members);
        var forgotten = Ledger.Forgotten();
        var samples = ids.Select(i => (Id: i, Hash: Key.Hash(data.Train.SampleId(i)))).ToList();
        var fresh = samples.Where(s => !forgotten.ContainsKey(s.Hash)).ToList();
        var hashes = samples.Select(s => forgotten.TryGetValue(s.Hash, out var by)
                ? new SampleHash(s.Hash, SampleHash.AlreadyForgotten, by)
                : new SampleHash(s.Hash, SampleHash.Forgotten))
            .OrderBy(h => h.Hash, StringComparer.Ordinal).ToArray();
        var versions = Ledger.Versions();
        var parent = versions[^1];
        var parentPath = File(parent.File);
        CheckVersionFile(parent);
        var settings = RequestSettings(request.Id);
        log?.Invoke($"request {request.Id}: {ids.Count} samples, {fresh.Count} not yet forgotten; version {parent.Id} -> {(fresh.Count > 0 ? parent.Id + 1 : parent.Id)}");

        VersionRow? version = null;
        CertificateAudit? audit = null;
        UnlearningOutcome? outcome = null;
        string? refused = null;
        var checks = Array.Empty<PolicyCheck>();
        if (fresh.Count > 0)
        {
            var (remaining, _) = Members();
            var forget = fresh.Select(s => s.Id).Order().ToArray();
            var retain = remaining.Except(forget).Order().ToArray();
            // What `requests add` checks cannot always be known then; such a request is answered with a refusal, so that
            // the queue goes on and the record says why (docs/deletion-ledger.md).
            if (fresh.Count < 2) refused = "1 sample not forgotten by an earlier request; the unlearning methods need at least 2";
            else if (retain.Length < 2) refused = "it would leave fewer than 2 members; retrain from scratch instead";
            else
            {
                var split = Base.Split with
                {
                    ForgetSource = $"request {request.Id}",
                    Members = [.. remaining.Order()],
                    Forget = forget,
                    Retain = retain,
                };
                using var model = Base.LoadModel(device, parentPath);
                var result = new Unlearner(model, settings, device) { OnEpoch = onEpoch }.Run(data.Train, forget, split.ShadowNonMembers, cancel, retain);
                if (cancel.IsCancellationRequested) return null;
                outcome = new UnlearningOutcome(result.Epochs.Count, result.StopReason, Math.Round(result.Seconds, 2));
                if (result.Diverged) refused = $"unlearning diverged ({result.StopReason}) with the policy's settings";
                else
                {
                    FaultPoints.Reach("process:unlearned");
                    log?.Invoke($"request {request.Id}: unlearned in {result.Seconds:F1} s ({result.StopReason}); auditing");
                    var report = Audit.Run($"version {parent.Id + 1}", model, data, split, Policy.Audit, device);
                    audit = Summarise(report, ReadUtility(versions[0].Utility));
                    checks = Check(audit);
                    var file = VersionFile(parent.Id + 1);
                    var manifest = Checkpoint.Save(File(file), model, BaseSettings.Architecture, result.Epochs.Count, settings.Seed, settings);
                    FaultPoints.Reach("process:version-written");
                    version = new VersionRow(parent.Id + 1, 0, parent.Id, request.Id, file, Checkpoint.FileSha256(File(file)), manifest.Sha256["model.bin"],
                        DateTimeOffset.UtcNow, UtilityJson(audit.Utility.Select(u => (u.Measure, u.Value))), "");
                }
            }
        }
        if (refused is not null)
        {
            hashes = [.. hashes.Select(h => h.Status == SampleHash.Forgotten ? h with { Status = SampleHash.NotForgotten } : h)];
            fresh = [];
        }

        var previous = Ledger.Outcomes().LastOrDefault();
        var certificate = new Certificate
        {
            Request = request.Id,
            Reference = request.Reference,
            Received = request.Received,
            Processed = DateTimeOffset.UtcNow,
            Samples = ids.Count,
            Forgotten = fresh.Count,
            AlreadyForgotten = hashes.Count(h => h.Status == SampleHash.AlreadyForgotten),
            SampleHashes = hashes,
            ParentVersion = new VersionReference(parent.Id, parent.File, parent.Sha256, parent.ModelSha256),
            NewVersion = version is null ? null : new VersionReference(version.Id, version.File, version.Sha256, version.ModelSha256),
            Settings = settings,
            Unlearning = outcome,
            Tools = ToolVersionsNow(),
            PolicySha256 = PolicySha256,
            Thresholds = Policy.Thresholds,
            Audit = audit,
            Checks = checks,
            Refused = refused,
            Previous = previous is null ? null : new CertificateLink(previous.Request, previous.CertificateSha256),
        };
        var json = File(CertificateFile(request.Id, "json"));
        var markdown = File(CertificateFile(request.Id, "md"));
        var html = File(CertificateFile(request.Id, "html"));
        LetheJson.WriteFile(json, certificate);
        var page = Reports.CertificatePage.Markdown(certificate);
        AtomicFile.WriteAllText(markdown, page);
        AtomicFile.WriteAllText(html, Reports.ReportWriter.Html(page, $"Lethe certificate: request {request.Id}", allowHtml: false));
        FaultPoints.Reach("process:certificate-written");
        // The renames reach the disk before the ledger says they happened.
        Posix.SyncFolder(File(VersionsFolder));
        Posix.SyncFolder(File(CertificatesFolder));
        var row = new OutcomeRow(request.Id, 0, certificate.Processed, parent.Id, version?.Id, certificate.Forgotten, certificate.AlreadyForgotten,
            certificate.MeetsPolicy, refused, "", Checkpoint.FileSha256(json), Checkpoint.FileSha256(markdown), Checkpoint.FileSha256(html), "");
        Ledger.RecordOutcome(row, version, [.. fresh.Select(s => s.Hash)], () => FaultPoints.Reach("process:in-transaction"));
        FaultPoints.Reach("process:committed");
        System.IO.File.Delete(listPath);
        FaultPoints.Reach("process:list-deleted");
        log?.Invoke($"request {request.Id}: {certificate.Verdict}");
        return certificate;
    }

    /// <summary>The policy's unlearning settings for one request: its seed derived from the policy's and the request id.</summary>
    public UnlearningSettings RequestSettings(long request) => Policy.Unlearning with { Seed = Seeds.Derive(Policy.Unlearning.Seed, $"store/request/{request}") };

    void CheckVersionFile(VersionRow version)
    {
        var path = File(version.File);
        if (!System.IO.File.Exists(path)) throw new LetheException($"{version.File} is missing: the store's version {version.Id} is gone (lethe requests verify)");
        if (Checkpoint.FileSha256(path) != version.Sha256)
            throw new DataFormatException(path, $"does not match the SHA-256 the ledger recorded for version {version.Id} (lethe requests verify)");
    }

    /// <summary>The certificate's audit: the headline attack on the request's samples with its 95% CI, every attack, utility.</summary>
    static CertificateAudit Summarise(IAuditReport report, UtilityValue[] first)
    {
        var scores = report.Scores ?? throw new InvalidOperationException("a fresh audit has scores");
        var headline = scores.Attacks.First(a => a.Attack is "head/encodermi-threshold" or $"{ClassifierAudit.Output}/confidence");
        var attacks = scores.Attacks.OrderBy(a => a == headline ? 0 : 1).Select(a =>
        {
            var ci = AucInterval.Of(a.Forget, a.NonMembers);
            return new AttackFigure(a.Attack, Round(ci.Auc), Round(ci.Low), Round(ci.High), Round(a.Metrics(forget: false).Auc));
        }).ToArray();
        var utility = report.Utility.Select(u => new UtilityFigure(u.Measure, Round(u.Value), Round(first.FirstOrDefault(f => f.Measure == u.Measure)?.Value ?? double.NaN))).ToArray();
        return new CertificateAudit(headline.Attack, scores.ForgetIds.Length, scores.RetainIds.Length, scores.NonMemberIds.Length, attacks, utility);
    }

    static double Round(double value) => Math.Round(value, 4);

    PolicyCheck[] Check(CertificateAudit audit)
    {
        var t = Policy.Thresholds;
        var headline = audit.Attacks[0];
        var utility = audit.Utility[0];
        var drop = Round(utility.First - utility.Value);
        List<PolicyCheck> checks =
        [
            new($"forget AUC {headline.ForgetAuc:F3} at most {t.MaxForgetAuc:F3}", headline.ForgetAuc, t.MaxForgetAuc, headline.ForgetAuc <= t.MaxForgetAuc),
            new($"{utility.Measure} drop {drop:F3} at most {t.MaxUtilityDrop:F3}", drop, t.MaxUtilityDrop, drop <= t.MaxUtilityDrop),
        ];
        if (t.MinRetainedAuc is { } min)
            checks.Add(new($"retained AUC {headline.RetainedAuc:F3} at least {min:F3}", headline.RetainedAuc, min, headline.RetainedAuc >= min));
        return [.. checks];
    }

    public void Dispose()
    {
        Ledger.Dispose();
        storeLock.Dispose();
    }
}
