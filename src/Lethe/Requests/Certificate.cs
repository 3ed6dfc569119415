using System.Text.Json.Serialization;
using Lethe.Storage;
using Lethe.Unlearning;

namespace Lethe.Requests;

/// <summary>One sample of a request, by its salted hash: forgotten by this request, or already by an earlier one.</summary>
public sealed record SampleHash(string Hash, string Status, long? ForgottenBy = null)
{
    public const string Forgotten = "forgotten";
    public const string AlreadyForgotten = "already-forgotten";
    public const string NotForgotten = "not-forgotten";
}

/// <summary>A model version as a certificate names it: its number, file and the SHA-256 of the file and of its weights.</summary>
public sealed record VersionReference(long Id, string File, string Sha256, string ModelSha256);

/// <summary>One attack's AUC on the request's forgotten samples (with its 95% CI) and on the retained members, against unseen non-members.</summary>
public sealed record AttackFigure(string Attack, double ForgetAuc, double ForgetLow, double ForgetHigh, double RetainedAuc);

/// <summary>A utility figure of the new version beside the store's first version's.</summary>
public sealed record UtilityFigure(string Measure, double Value, double First);

/// <summary>The audit of the new version: the headline attack, every attack, the group sizes and utility.</summary>
public sealed record CertificateAudit(string Headline, int Forgotten, int Retained, int NonMembers, AttackFigure[] Attacks, UtilityFigure[] Utility);

/// <summary>Each threshold of the policy, checked; the request meets the policy when every check is met.</summary>
public sealed record PolicyCheck(string Check, double Value, double Limit, bool Met);

/// <summary>The certificate a previous request got: the chain of certificates links each to the one before by SHA-256.</summary>
public sealed record CertificateLink(long Request, string Sha256);

/// <summary>How the unlearning run ended.</summary>
public sealed record UnlearningOutcome(int Epochs, string StopReason, double Seconds);

/// <summary>The tools that made a certificate.</summary>
public sealed record ToolVersions(string Lethe, string TorchSharp, string Runtime);

/// <summary>
/// What a store answers a deletion request with (certificates/rNNNN.json, with .md and .html pages of it): when it was
/// received and processed, the samples by salted hash, the model version it started from and the one it made (with their
/// SHA-256), the method and every setting, the tools, the audit of the new version and the verdict against the policy,
/// and the SHA-256 of the previous certificate. Raw sample ids never appear in it.
/// </summary>
public sealed record Certificate
{
    public const string FormatName = "lethe-certificate";
    public const int FormatVersion = 1;
    public const string HashName = "HMAC-SHA256 of the sample id, keyed with the store's salt (store.key)";

    public string Format { get; init; } = FormatName;

    public int Version { get; init; } = FormatVersion;

    public required long Request { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reference { get; init; }

    public required DateTimeOffset Received { get; init; }

    public required DateTimeOffset Processed { get; init; }

    public required int Samples { get; init; }

    public required int Forgotten { get; init; }

    public required int AlreadyForgotten { get; init; }

    public string SampleHashAlgorithm { get; init; } = HashName;

    public required SampleHash[] SampleHashes { get; init; }

    public required VersionReference ParentVersion { get; init; }

    /// <summary>The version this request made; null when every sample had been forgotten already.</summary>
    public required VersionReference? NewVersion { get; init; }

    public required UnlearningSettings Settings { get; init; }

    public required UnlearningOutcome? Unlearning { get; init; }

    public required ToolVersions Tools { get; init; }

    public required string PolicySha256 { get; init; }

    public required PolicyThresholds Thresholds { get; init; }

    public required CertificateAudit? Audit { get; init; }

    public required PolicyCheck[] Checks { get; init; }

    /// <summary>Why the request could not be answered (its samples are not forgotten), or null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Refused { get; init; }

    public bool MeetsPolicy => Refused is null && Checks.All(c => c.Met);

    public required CertificateLink? Previous { get; init; }

    public string Verdict => Refused is { } why ? $"not answered: {why}"
        : Audit is null ? "nothing to forget: every sample was forgotten earlier"
        : MeetsPolicy ? "meets the policy"
        : "does not meet the policy: " + string.Join("; ", Checks.Where(c => !c.Met).Select(c => c.Check));

    public static string FileStem(long request) => $"r{request:D4}";

    public static Certificate Read(string path) => LetheJson.ReadFile<Certificate>(path, "certificate");
}
