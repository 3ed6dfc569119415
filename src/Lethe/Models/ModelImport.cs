using System.Globalization;
using Lethe.Data;
using Lethe.Storage;
using Lethe.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Models;

/// <summary>What an import did besides copying tensors: for import.json and the command's output.</summary>
public sealed record ImportReport
{
    /// <summary>The record's file in an imported run folder.</summary>
    public const string FileName = "import.json";

    /// <summary>The import record of <paramref name="runFolder"/>, or null for a run Lethe trained.</summary>
    public static ImportReport? Find(string runFolder)
    {
        var file = Path.Combine(runFolder, FileName);
        return File.Exists(file) ? LetheJson.ReadFile<ImportReport>(file, "import record") : null;
    }

    public required string Source { get; init; }

    public required string SourceSha256 { get; init; }

    public required string Layout { get; init; }

    public required string Method { get; init; }

    public required EncoderSettings Encoder { get; init; }

    public int TensorsRead { get; init; }

    public int TensorsLoaded { get; init; }

    /// <summary>File keys skipped by the layout's ignore list.</summary>
    public string[] Ignored { get; init; } = [];

    /// <summary>Biases folded into the running mean of the batch norm that follows them.</summary>
    public string[] Folded { get; init; } = [];

    /// <summary>Parts the file lacks that Lethe filled in, and how.</summary>
    public string[] Filled { get; init; } = [];

    public DateTimeOffset Imported { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>
/// Loads a PyTorch state dict into a Lethe learner through a <see cref="KeyMapping"/>, inferring the architecture's sizes
/// from the tensors' shapes, and writes a learner back in a library's layout. Every mismatch is reported in one line:
/// the first missing and unexpected keys and the shape differences (docs/own-model.md).
/// </summary>
public static class ModelImport
{
    /// <summary>What a user may state instead of letting the import infer it.</summary>
    public sealed record Request
    {
        public string? Method { get; init; }

        public string? Stem { get; init; }

        /// <summary>Extra file-key prefixes to skip (e.g. a classifier's fc. when importing its backbone as an encoder).</summary>
        public string[] Ignore { get; init; } = [];
    }

    /// <summary>The file's tensors under canonical names, with the ignored keys; throws on keys no rule covers.</summary>
    public static (Dictionary<string, Tensor> Canonical, List<string> Ignored) Map(string path, IReadOnlyList<KeyValuePair<string, Tensor>> state, KeyMapping mapping, IReadOnlyCollection<string> extraIgnore)
    {
        var canonical = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var ignored = new List<string>();
        var unmapped = new List<string>();
        foreach (var (key, tensor) in state)
        {
            if (mapping.Ignores(key) || extraIgnore.Any(p => key.StartsWith(p, StringComparison.Ordinal)))
            {
                ignored.Add(key);
                continue;
            }
            if (mapping.ToCanonical(key) is { } name) canonical[name] = tensor;
            else unmapped.Add(key);
        }
        if (unmapped.Count > 0)
            throw new LetheException($"{path}: the {mapping.Name} layout has no place for {Few(unmapped)}: choose another --layout, skip them with --ignore PREFIX, or map them in a layout file");
        return (canonical, ignored);
    }

    /// <summary>The learner and encoder settings the tensors describe (sizes from shapes; method and stem as asked or inferred).</summary>
    public static (string Method, EncoderSettings Encoder) Infer(string path, Dictionary<string, Tensor> canonical, KeyMapping mapping, Request request, Dataset data)
    {
        long[] Shape(string key) => canonical.TryGetValue(key, out var t) ? t.shape : [];
        bool Has(string prefix) => canonical.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));

        var method = request.Method ?? (Has("predictor.") ? "byol" : Has("momentum.") ? "moco" : Has("head.") && !Has("projector.") ? "classifier" : "simclr");
        TrainingMethods.Get(method);
        string architecture;
        long[] first;
        if (canonical.ContainsKey("backbone.conv1.weight"))
        {
            architecture = "resnet18";
            first = Shape("backbone.conv1.weight");
        }
        else if (canonical.ContainsKey("backbone.features.conv1.weight"))
        {
            architecture = "small-cnn";
            first = Shape("backbone.features.conv1.weight");
        }
        else
        {
            throw new LetheException($"{path}: no first convolution after mapping with the {mapping.Name} layout (backbone.conv1.weight for a ResNet-18, " +
                $"backbone.features.conv1.weight for Lethe's small CNN); its keys begin {Few(canonical.Keys.ToList())}: is the layout right?");
        }
        if (first.Length != 4) throw new LetheException($"{path}: the first convolution's weight is {Text(first)}, not a 4-d convolution kernel");
        if (first[1] != data.Train.Channels)
            throw new LetheException($"{path}: the model takes {first[1]}-channel images but the data set's are {data.Train.Channels}-channel{(data.Name == "folder" ? $": pass --channels {first[1]}" : "")}");

        var encoder = new EncoderSettings { Architecture = architecture, Width = (int)first[0] };
        if (architecture == "resnet18")
        {
            var stem = request.Stem ?? (first[2] == 7 ? "imagenet" : mapping.CifarStem);
            encoder = encoder with { Stem = stem == "cifar" ? null : stem };
        }
        else if (request.Stem is not null)
        {
            throw new LetheException("--stem applies to ResNet-18 only: this is Lethe's small CNN");
        }
        else
        {
            var fc = Shape("backbone.top.fc.weight");
            encoder = fc.Length == 2 ? encoder with { FeatureDim = (int)fc[0] } : encoder with { Pooled = true };
        }
        if (method != "classifier" && Has("projector."))
        {
            var fc1 = Shape("projector.fc1.weight");
            var fc2 = Shape("projector.fc2.weight");
            if (fc1.Length != 2 || fc2.Length != 2)
                throw new LetheException($"{path}: the projection head lacks projector.fc1.weight or projector.fc2.weight after mapping with the {mapping.Name} layout");
            var norm = Has("projector.bn2.") ? "both" : Has("projector.bn.") ? "hidden" : "none";
            encoder = encoder with { HeadHidden = (int)fc1[0], HeadDim = (int)fc2[0], HeadNorm = norm == "hidden" ? null : norm };
            var predictor = Shape("predictor.fc1.weight");
            if (method == "byol" && predictor.Length == 2 && predictor[0] != fc1[0]) encoder = encoder with { PredictorHidden = (int)predictor[0] };
        }
        if (method == "classifier")
        {
            var head = Shape("head.weight");
            if (head.Length != 2) throw new LetheException($"{path}: a classifier needs its linear layer (fc. in torchvision's names, head.* after mapping); none found");
            if (head[0] != data.Train.ClassCount)
                throw new LetheException($"{path}: the classifier predicts {head[0]} classes but the data set has {data.Train.ClassCount}");
        }
        return (method, encoder);
    }

    /// <summary>
    /// Copies the canonical tensors into <paramref name="model"/>. Missing parts that Lethe can fill are filled and
    /// reported: a momentum copy (from the online network), MoCo's queue (kept random), a wholly absent projection head
    /// (kept at its seeded initialisation). Anything else missing, unexpected or of another shape is an error.
    /// </summary>
    public static (int Loaded, List<string> Folded, List<string> Filled) Load(string path, Dictionary<string, Tensor> canonical, KeyMapping mapping, Learner model)
    {
        var method = model.Method;
        var architecture = model.Recipe.Encoder.Architecture;
        var target = model.state_dict();
        var byLethe = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var folds = new List<(FoldRule Rule, Tensor Bias)>();
        var unexpected = new List<string>();
        foreach (var (name, tensor) in canonical)
        {
            var lethe = LetheNames.ToLethe(name, method, architecture);
            if (target.ContainsKey(lethe)) byLethe[lethe] = tensor;
            else if (mapping.Fold.FirstOrDefault(f => f.Bias == name) is { } fold && target.ContainsKey(LetheNames.ToLethe(fold.Into, method, architecture))) folds.Add((fold, tensor));
            else unexpected.Add(name);
        }
        var hasHead = canonical.Keys.Any(k => k.StartsWith("projector.", StringComparison.Ordinal));
        var filled = new List<string>();
        var missing = new List<string>();
        foreach (var key in target.Keys.Where(k => !byLethe.ContainsKey(k)))
        {
            if (key.StartsWith("key_", StringComparison.Ordinal) || key.StartsWith("target_", StringComparison.Ordinal)) continue;
            if (key is "queue" or "queue_ptr") continue;
            if (!hasHead && key.StartsWith("projector.", StringComparison.Ordinal)) continue;
            if (method == "byol" && !hasHead && key.StartsWith("predictor.", StringComparison.Ordinal)) continue;
            missing.Add(key);
        }
        var shapes = byLethe.Where(p => !p.Value.shape.SequenceEqual(target[p.Key].shape))
            .Select(p => $"{p.Key} is {Text(p.Value.shape)} in the file but {Text(target[p.Key].shape)} in a {model.Architecture} model").ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || shapes.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing {Few(missing)}");
            if (unexpected.Count > 0) parts.Add($"unexpected {Few(unexpected)}");
            if (shapes.Count > 0) parts.Add($"shape differences: {string.Join("; ", shapes.Take(3))}{(shapes.Count > 3 ? $" (+{shapes.Count - 3} more)" : "")}");
            throw new LetheException($"{path}: does not fit a {model.Architecture} model ({mapping.Name} layout): {string.Join("; ", parts)}");
        }

        using (no_grad())
        {
            foreach (var (key, tensor) in byLethe) target[key].copy_(tensor.to(target[key].dtype));
            var folded = new List<string>();
            foreach (var (rule, bias) in folds)
            {
                // BN(Wx + b) with running mean m equals BN(Wx) with running mean m - b, in training and evaluation alike.
                target[LetheNames.ToLethe(rule.Into, method, architecture)].sub_(bias.to(ScalarType.Float32));
                folded.Add($"{rule.Bias} into {rule.Into}");
            }
            var momentumPrefix = method == "byol" ? "target_" : "key_";
            var momentumGiven = byLethe.Keys.Any(k => k.StartsWith(momentumPrefix, StringComparison.Ordinal));
            if (method is "moco" or "byol")
            {
                if (momentumGiven)
                {
                    var absent = target.Keys.Where(k => k.StartsWith(momentumPrefix, StringComparison.Ordinal) && !byLethe.ContainsKey(k)).ToList();
                    if (absent.Count > 0) throw new LetheException($"{path}: the momentum network is incomplete: missing {Few(absent.Select(LetheNames.ToCanonical).ToList())}");
                }
                else
                {
                    foreach (var key in target.Keys.Where(k => k.StartsWith(momentumPrefix, StringComparison.Ordinal)))
                        target[key].copy_(target[key[momentumPrefix.Length..]]);
                    filled.Add($"{(method == "byol" ? "the target network" : "the key encoder")}: copied from the online network (the file has none)");
                }
            }
            if (method == "moco") filled.Add("MoCo's queue: Lethe's own, drawn from the seed (queues are not imported)");
            if (!hasHead && method != "classifier") filled.Add("the projection head: not in the file, initialised from the seed (audit and unlearn the backbone with --output backbone)");
            return (byLethe.Count + folds.Count, folded, filled);
        }
    }

    /// <summary>
    /// The learner's tensors under <paramref name="mapping"/>'s names (a bias the layout has and Lethe folded away is
    /// written as zeros), and the Lethe keys the layout has no place for.
    /// </summary>
    public static (List<KeyValuePair<string, Tensor>> State, List<string> Dropped) Export(Learner model, KeyMapping mapping)
    {
        var headNorm = model.Recipe.Encoder.HeadNormKind;
        var state = new List<KeyValuePair<string, Tensor>>();
        var dropped = new List<string>();
        var canonicalKeys = new HashSet<string>(StringComparer.Ordinal);
        var modelState = model.state_dict();
        foreach (var (key, tensor) in modelState)
        {
            if (mapping.Native)
            {
                state.Add(new(key, tensor.detach().clone()));
                continue;
            }
            var canonical = LetheNames.ToCanonical(key);
            canonicalKeys.Add(canonical);
            if (key is "queue" or "queue_ptr" || mapping.FromCanonical(canonical, headNorm) is not { } name)
            {
                dropped.Add(key);
                continue;
            }
            state.Add(new(name, tensor.detach().clone()));
        }
        foreach (var fold in mapping.Fold)
        {
            if (mapping.Native || canonicalKeys.Contains(fold.Bias) || !canonicalKeys.Contains(fold.Into)) continue;
            if (mapping.FromCanonical(fold.Bias, headNorm) is not { } name) continue;
            var into = modelState[LetheNames.ToLethe(fold.Into, model.Method, model.Recipe.Encoder.Architecture)];
            state.Add(new(name, zeros_like(into)));
        }
        state.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return (state, dropped);
    }

    static string Few(List<string> keys) =>
        string.Join(", ", keys.Take(5)) + (keys.Count > 5 ? $" (+{keys.Count - 5} more)" : "");

    static string Text(long[] shape) => shape.Length == 0 ? "a scalar" : string.Join("x", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
}
