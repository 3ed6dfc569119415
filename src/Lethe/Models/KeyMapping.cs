using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lethe.Storage;

namespace Lethe.Models;

/// <summary>A prefix rename from a file's key names to Lethe's canonical names, optionally only for one head layout.</summary>
public sealed record KeyRule(string From, string To, string? Head = null);

/// <summary>A Linear bias that a file has and Lethe's layer lacks, folded into the running mean of the batch norm after it.</summary>
public sealed record FoldRule(string Bias, string Into);

/// <summary>
/// How a library names a model's tensors (docs/own-model.md). Rules map the file's names to Lethe's canonical names:
/// <c>backbone.</c> + torchvision's ResNet names (conv1, bn1, layerN.B.conv1, layerN.B.downsample.0, ...) or the small
/// CNN's, <c>projector.fc1/bn/fc2/bn2</c>, <c>predictor.*</c> (BYOL), <c>momentum.backbone.*</c> and
/// <c>momentum.projector.*</c> (MoCo's key encoder, BYOL's target) and <c>head.*</c> (a classifier's linear layer). The
/// longest matching prefix wins; keys under <see cref="Ignore"/> are skipped; any other key is an error. Built-in:
/// torchvision, solo-learn, lightly and lethe; a JSON file of the same shape adds another.
/// </summary>
public sealed record KeyMapping
{
    public required string Name { get; init; }

    public string Description { get; init; } = "";

    /// <summary>The stem a 3x3 first convolution gets: cifar (padding 1) or cifar-pad2 (solo-learn's).</summary>
    public string CifarStem { get; init; } = "cifar";

    /// <summary>The file uses Lethe's own module names (what Lethe exports with this layout).</summary>
    public bool Native { get; init; }

    public KeyRule[] Rename { get; init; } = [];

    public string[] Ignore { get; init; } = [];

    public FoldRule[] Fold { get; init; } = [];

    static readonly JsonSerializerOptions Strict = new(LetheJson.Options) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };

    public static IReadOnlyList<string> BuiltIn { get; } = ["torchvision", "solo-learn", "lightly", "lethe"];

    /// <summary>A built-in layout by name, or a mapping JSON file.</summary>
    public static KeyMapping Load(string nameOrPath)
    {
        string json, source;
        if (BuiltIn.Contains(nameOrPath))
        {
            source = $"built-in layout {nameOrPath}";
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Lethe.Models.Layouts.{nameOrPath}.json")
                ?? throw new InvalidOperationException($"the built-in layout {nameOrPath} is missing from the assembly");
            using var reader = new StreamReader(stream);
            json = reader.ReadToEnd();
        }
        else
        {
            if (!File.Exists(nameOrPath))
                throw new LetheException($"unknown layout '{nameOrPath}': use {string.Join(", ", BuiltIn)}, or a mapping JSON file (docs/own-model.md)");
            source = nameOrPath;
            json = File.ReadAllText(nameOrPath);
        }
        KeyMapping? mapping;
        try
        {
            mapping = JsonSerializer.Deserialize<KeyMapping>(json, Strict);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(source, $"is not a valid key mapping ({e.Message.Split('\n')[0]})");
        }
        if (mapping is null || mapping.Rename is null || mapping.Ignore is null || mapping.Fold is null)
            throw new DataFormatException(source, "is not a key mapping: it needs name, rename, ignore and fold");
        if (mapping.CifarStem is not ("cifar" or "cifar-pad2")) throw new DataFormatException(source, $"cifarStem must be cifar or cifar-pad2, not '{mapping.CifarStem}'");
        if (mapping.Rename.Any(r => r?.From is null || r.To is null)) throw new DataFormatException(source, "every rename rule needs from and to");
        return mapping;
    }

    /// <summary>Whether a file key is skipped.</summary>
    public bool Ignores(string key) => Ignore.Any(prefix => key.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>The canonical name of a file key, or null when no rule covers it.</summary>
    public string? ToCanonical(string key)
    {
        if (Native) return LetheNames.ToCanonical(key);
        foreach (var rule in Rename.OrderByDescending(r => r.From.Length))
        {
            if (key.StartsWith(rule.From, StringComparison.Ordinal)) return rule.To + key[rule.From.Length..];
        }
        return null;
    }

    /// <summary>The file name of a canonical key for a head of <paramref name="headNorm"/>, or null when the layout has no place for it.</summary>
    public string? FromCanonical(string canonical, string headNorm)
    {
        if (Native) return null;
        foreach (var rule in Rename.Where(r => r.Head is null || r.Head == headNorm).OrderByDescending(r => r.To.Length))
        {
            if (canonical.StartsWith(rule.To, StringComparison.Ordinal)) return rule.From + canonical[rule.To.Length..];
        }
        return null;
    }
}

/// <summary>Translation between Lethe's module names and the canonical (torchvision-style) names of <see cref="KeyMapping"/>.</summary>
public static partial class LetheNames
{
    /// <summary>A Lethe state-dict key of a learner of <paramref name="method"/> for a canonical key.</summary>
    public static string ToLethe(string canonical, string method, string architecture)
    {
        string Backbone(string rest) => architecture == "resnet18" ? ResNetToLethe(rest) : rest;
        var momentum = method == "byol" ? "target_" : "key_";
        if (canonical.StartsWith("momentum.backbone.", StringComparison.Ordinal)) return $"{momentum}backbone.{Backbone(canonical["momentum.backbone.".Length..])}";
        if (canonical.StartsWith("momentum.projector.", StringComparison.Ordinal)) return $"{momentum}projector.{canonical["momentum.projector.".Length..]}";
        if (canonical.StartsWith("backbone.", StringComparison.Ordinal)) return $"backbone.{Backbone(canonical["backbone.".Length..])}";
        return canonical;
    }

    /// <summary>The canonical key of a Lethe state-dict key (the inverse of <see cref="ToLethe"/>).</summary>
    public static string ToCanonical(string lethe)
    {
        foreach (var (prefix, canonical) in new[] { ("key_backbone.", "momentum.backbone."), ("target_backbone.", "momentum.backbone."), ("backbone.", "backbone.") })
        {
            if (lethe.StartsWith(prefix, StringComparison.Ordinal)) return canonical + ResNetToTorchvision(lethe[prefix.Length..]);
        }
        foreach (var (prefix, canonical) in new[] { ("key_projector.", "momentum.projector."), ("target_projector.", "momentum.projector.") })
        {
            if (lethe.StartsWith(prefix, StringComparison.Ordinal)) return canonical + lethe[prefix.Length..];
        }
        return lethe;
    }

    /// <summary>Lethe's ResNet-18 module names beside torchvision's: the stem, then inside each block the shortcut.</summary>
    static readonly (string Lethe, string Torchvision)[] StemNames = [("stem.conv.", "conv1."), ("stem.bn.", "bn1.")];
    static readonly (string Lethe, string Torchvision)[] ShortcutNames = [("shortcut.conv.", "downsample.0."), ("shortcut.bn.", "downsample.1.")];

    static string ResNetToLethe(string key) => TranslateResNet(key, toLethe: true);

    static string ResNetToTorchvision(string key) => TranslateResNet(key, toLethe: false);

    static string TranslateResNet(string key, bool toLethe)
    {
        static string Swap(string text, (string Lethe, string Torchvision)[] names, bool toLethe)
        {
            foreach (var (lethe, torchvision) in names)
            {
                var (from, to) = toLethe ? (torchvision, lethe) : (lethe, torchvision);
                if (text.StartsWith(from, StringComparison.Ordinal)) return to + text[from.Length..];
            }
            return text;
        }
        var match = (toLethe ? TorchvisionBlock() : LetheBlock()).Match(key);
        if (!match.Success) return Swap(key, StemNames, toLethe);
        var block = $"layer{match.Groups[1].Value}.{match.Groups[2].Value}.";
        return (toLethe ? "layers." : "") + block + Swap(match.Groups[3].Value, ShortcutNames, toLethe);
    }

    [GeneratedRegex(@"^layer(\d)\.(\d+)\.(.*)$")]
    private static partial Regex TorchvisionBlock();

    [GeneratedRegex(@"^layers\.layer(\d)\.(\d+)\.(.*)$")]
    private static partial Regex LetheBlock();
}
