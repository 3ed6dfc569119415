using System.Text.Json;
using Lethe.Storage;

namespace Lethe.Requests;

/// <summary>What `lethe requests verify` found: problems (each names its file) and notes on files it does not vouch for.</summary>
public sealed record VerifyResult(IReadOnlyList<string> Problems, IReadOnlyList<string> Notes, int Versions, int Certificates, int Pending);

/// <summary>
/// Checks a whole store: the ledger's structure and chain of row hashes, the SHA-256 of every file it records (policy,
/// key, base run, versions, certificates and their pages, pending lists), that each certificate says what the ledger
/// says and links to the previous one, and that each version names its parent and the request that made it.
/// </summary>
public static class StoreVerifier
{
    public static VerifyResult Verify(ModelStore store)
    {
        var problems = new List<string>();
        var notes = new List<string>();
        var ledger = store.Ledger;
        var ledgerName = Ledger.FileName;
        var integrity = ledger.IntegrityCheck();
        if (integrity != "ok") problems.Add($"{ledgerName} is damaged: {integrity.Split('\n')[0]}");
        if (ledger.CheckChain() is { } broken) problems.Add($"{ledgerName} is damaged: {broken}");
        var (stamp, stale) = ledger.CheckStamp();
        if (stamp is not null) problems.Add(stamp);
        if (stale) notes.Add($"{Ledger.StampFileName} is behind the ledger (a run was interrupted after its commit; the next requests process updates it)");

        // The files fixed when the store was made (policy, key, base run) were checked when the store was opened.

        var versions = ledger.Versions();
        var outcomes = ledger.Outcomes().ToDictionary(o => o.Request);
        var requests = ledger.Requests();
        for (var i = 0; i < versions.Count; i++)
        {
            var v = versions[i];
            if (v.Id != i || v.Parent != (i == 0 ? null : i - 1))
                problems.Add($"{ledgerName}: version {v.Id} names parent {v.Parent?.ToString() ?? "none"}, which breaks the chain of versions");
            if (i > 0 && (v.Request is not { } r || !outcomes.TryGetValue(r, out var made) || made.NewVersion != v.Id))
                problems.Add($"{ledgerName}: version {v.Id} names request {v.Request?.ToString() ?? "none"}, whose outcome did not make it");
            if (CheckFile(store, v.File, v.Sha256, $"the SHA-256 the ledger recorded for version {v.Id}", problems))
            {
                var manifest = Checkpoint.ReadManifest(store.File(v.File));
                if (manifest.Sha256.GetValueOrDefault("model.bin") != v.ModelSha256)
                    problems.Add($"{v.File}: its weights do not match the SHA-256 the ledger recorded for version {v.Id}");
            }
        }

        var forgotten = ledger.Forgotten();
        CertificateLink? previous = null;
        foreach (var request in requests)
        {
            if (!outcomes.TryGetValue(request.Id, out var outcome))
            {
                CheckFile(store, ModelStore.PendingFile(request.Id), request.ListSha256, $"the SHA-256 recorded when request {request.Id} was added", problems);
                continue;
            }
            var json = ModelStore.CertificateFile(request.Id, "json");
            var jsonOk = CheckFile(store, json, outcome.CertificateSha256, $"the SHA-256 the ledger recorded for request {request.Id}'s certificate", problems);
            CheckFile(store, ModelStore.CertificateFile(request.Id, "md"), outcome.MarkdownSha256, $"the SHA-256 the ledger recorded for request {request.Id}'s certificate page", problems);
            CheckFile(store, ModelStore.CertificateFile(request.Id, "html"), outcome.HtmlSha256, $"the SHA-256 the ledger recorded for request {request.Id}'s certificate page", problems);
            if (jsonOk)
            {
                var certificate = Certificate.Read(store.File(json));
                var mine = forgotten.Where(f => f.Value == request.Id).Select(f => f.Key).ToList();
                var disagreement = Disagreement(certificate, request, outcome, versions, previous, store, mine);
                if (disagreement is not null) problems.Add($"{json} and {ledgerName} disagree: {disagreement}");
            }
            previous = new CertificateLink(request.Id, outcome.CertificateSha256);
        }
        foreach (var orphan in outcomes.Keys.Except(requests.Select(r => r.Id)))
            problems.Add($"{ledgerName}: an outcome for request {orphan}, which was never recorded");
        foreach (var stray in forgotten.Values.Distinct().Where(r => !outcomes.ContainsKey(r)))
            problems.Add($"{ledgerName}: forgotten samples of request {stray}, which has no outcome");

        // Files the ledger does not know: left by an interrupted run, which the next `requests process` removes.
        var known = versions.Select(v => v.File)
            .Concat(outcomes.Keys.SelectMany(r => new[] { "json", "md", "html" }.Select(e => ModelStore.CertificateFile(r, e))))
            .Concat(requests.Where(r => !outcomes.ContainsKey(r.Id)).Select(r => ModelStore.PendingFile(r.Id))).ToHashSet();
        foreach (var folder in new[] { ModelStore.VersionsFolder, ModelStore.CertificatesFolder, ModelStore.PendingFolder })
        {
            var path = store.File(folder);
            if (!Directory.Exists(path)) continue;
            foreach (var file in Directory.EnumerateFiles(path).Select(f => Path.GetRelativePath(store.Root, f).Replace('\\', '/')).Where(f => !known.Contains(f)).Order(StringComparer.Ordinal))
                notes.Add($"{file} is not in the ledger (left by an interrupted run; the next requests process removes it)");
        }
        return new VerifyResult(problems, notes, versions.Count, outcomes.Count, requests.Count - outcomes.Count);
    }

    /// <summary>Checks one file against its SHA-256; false (with a problem naming the file) when it is missing or differs.</summary>
    static bool CheckFile(ModelStore store, string relative, string sha256, string what, List<string> problems)
    {
        var path = store.File(relative);
        if (!File.Exists(path))
        {
            problems.Add($"{relative} is missing");
            return false;
        }
        if (Checkpoint.FileSha256(path) == sha256) return true;
        problems.Add($"{relative} has changed: it does not match {what}");
        return false;
    }

    static string? Disagreement(Certificate c, RequestRow request, OutcomeRow outcome, List<VersionRow> versions, CertificateLink? previous, ModelStore store, List<string> forgotten)
    {
        if (c.Request != request.Id) return $"request {c.Request} against {request.Id}";
        if (c.Reference != request.Reference) return "the reference";
        if (c.Received != request.Received) return "when it was received";
        if (c.Processed != outcome.Processed) return "when it was processed";
        if (c.Refused != outcome.Refused) return "whether it was answered";
        if (c.Settings != store.RequestSettings(request.Id)) return "the unlearning settings (against the policy's)";
        if (c.Thresholds != store.Policy.Thresholds) return "the thresholds (against the policy's)";
        if (c.Samples != request.Samples || c.Forgotten != outcome.Forgotten || c.AlreadyForgotten != outcome.AlreadyForgotten) return "the sample counts";
        if (c.MeetsPolicy != outcome.MeetsPolicy) return "the verdict";
        if (c.PolicySha256 != store.PolicySha256) return "the policy's SHA-256";
        if (c.Previous != previous) return "the previous certificate";
        if (!SameVersion(c.ParentVersion, versions.FirstOrDefault(v => v.Id == outcome.ParentVersion))) return "the parent version";
        if (outcome.NewVersion is { } made ? !SameVersion(c.NewVersion, versions.FirstOrDefault(v => v.Id == made)) : c.NewVersion is not null) return "the new version";
        var certified = c.SampleHashes.Where(h => h.Status == SampleHash.Forgotten).Select(h => h.Hash).ToList();
        if (Ledger.HashList(certified) != outcome.ForgottenSha256 || Ledger.HashList(forgotten) != outcome.ForgottenSha256) return "the forgotten samples' hashes";
        return null;
    }

    static bool SameVersion(VersionReference? reference, VersionRow? row) =>
        reference is not null && row is not null && reference.Id == row.Id && reference.File == row.File && reference.Sha256 == row.Sha256 && reference.ModelSha256 == row.ModelSha256;

    /// <summary>The verify result as JSON, for scripts.</summary>
    public static string Json(VerifyResult result) => JsonSerializer.Serialize(result, LetheJson.Options);
}
