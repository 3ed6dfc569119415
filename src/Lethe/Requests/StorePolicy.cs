using System.Text.Json;
using System.Text.Json.Serialization;
using Lethe.Audits;
using Lethe.Storage;
using Lethe.Unlearning;

namespace Lethe.Requests;

/// <summary>What every processed request must meet: the audit's verdict compares the new model version with these.</summary>
public sealed record PolicyThresholds
{
    /// <summary>The headline attack's AUC on the request's forgotten samples against unseen non-members, at most (0.5 is chance).</summary>
    public double MaxForgetAuc { get; init; } = 0.6;

    /// <summary>How far the first utility figure (kNN or test accuracy) may fall below the store's first version's, at most.</summary>
    public double MaxUtilityDrop { get; init; } = 0.05;

    /// <summary>The headline attack's AUC on the retained members, at least, when set: that forgetting left the rest remembered.</summary>
    public double? MinRetainedAuc { get; init; }
}

/// <summary>
/// A store's policy (policy.json): the unlearning method and every setting, the audit to run, and the thresholds each
/// request must meet. Fixed when the store is made; its SHA-256 is in the ledger and in every certificate.
/// </summary>
public sealed record StorePolicy
{
    public const string FileName = "policy.json";
    public const string FormatName = "lethe-store-policy";
    public const int FormatVersion = 1;

    public string Format { get; init; } = FormatName;

    public int Version { get; init; } = FormatVersion;

    public required UnlearningSettings Unlearning { get; init; }

    public required AuditSettings Audit { get; init; }

    public PolicyThresholds Thresholds { get; init; } = new();

    /// <summary>The default policy for a model kind: Lethe's targeted unlearning, the audit without its linear probe.</summary>
    public static StorePolicy Default(string method, bool classifier) => new()
    {
        Unlearning = UnlearningMethods.Defaults(method, classifier),
        Audit = new AuditSettings { LinearProbe = false },
    };

    public void Validate(string source, bool classifier)
    {
        try
        {
            if (Format != FormatName) throw new LetheException($"is not a store policy (format '{Format}')");
            if (Version != FormatVersion) throw new LetheException($"policy version {Version} is not supported (this Lethe reads {FormatVersion})");
            if (Unlearning is null || Audit is null || Thresholds is null) throw new LetheException("needs unlearning, audit and thresholds");
            Unlearning.Validate();
            Audit.Validate();
            var info = UnlearningMethods.Get(Unlearning.Method);
            if (!info.WorksOn(classifier)) throw new LetheException($"{info.Name} works on {(classifier ? "contrastive encoders" : "classifiers")} only");
            if (!(Thresholds.MaxForgetAuc is >= 0 and <= 1)) throw new LetheException($"maxForgetAuc must lie in [0, 1], not {Thresholds.MaxForgetAuc}");
            if (!(Thresholds.MaxUtilityDrop is >= 0 and <= 1)) throw new LetheException($"maxUtilityDrop must lie in [0, 1], not {Thresholds.MaxUtilityDrop}");
            if (Thresholds.MinRetainedAuc is { } r && !(r is >= 0 and <= 1)) throw new LetheException($"minRetainedAuc must lie in [0, 1], not {r}");
        }
        catch (LetheException e)
        {
            throw new DataFormatException(source, e.Message);
        }
    }

    static readonly JsonSerializerOptions Strict = new(LetheJson.Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>Reads a policy file; unknown keys and values of the wrong type are one-line errors naming the file.</summary>
    public static StorePolicy Read(string path, bool classifier)
    {
        if (!File.Exists(path)) throw new LetheException($"policy not found: {path}");
        StorePolicy? policy;
        try
        {
            policy = JsonSerializer.Deserialize<StorePolicy>(File.ReadAllText(path), Strict);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, $"is not a valid policy ({e.Message.Split('\n')[0]})");
        }
        if (policy is null) throw new DataFormatException(path, "is empty");
        policy.Validate(path, classifier);
        return policy;
    }
}
