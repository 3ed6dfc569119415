using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Storage;

/// <summary>One tensor of a model's state: its name, shape and element type.</summary>
public sealed record TensorSignature(string Name, long[] Shape, string Type)
{
    public string ShapeText => Shape.Length == 0 ? "scalar" : string.Join("x", Shape);
}

/// <summary>
/// What a checkpoint holds besides the tensors: the architecture it belongs to and the signature of
/// its state (so that loading into another architecture fails clearly), the epoch, seed and settings
/// of the run, and the SHA-256 of every entry (so that a damaged file is caught before use).
/// </summary>
public sealed record CheckpointManifest
{
    public const string FormatName = "lethe-checkpoint";
    public const int FormatVersion = 1;

    public string Format { get; init; } = FormatName;

    public int Version { get; init; } = FormatVersion;

    public required string Architecture { get; init; }

    public required TensorSignature[] State { get; init; }

    public int Epoch { get; init; }

    public long Seed { get; init; }

    /// <summary>The run's settings as written by the caller (any JSON object).</summary>
    public JsonElement? Settings { get; init; }

    public bool HasOptimizer { get; init; }

    public DateTimeOffset Created { get; init; }

    public string LetheVersion { get; init; } = typeof(CheckpointManifest).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>SHA-256 (hex) of each entry of the archive other than the manifest.</summary>
    public required Dictionary<string, string> Sha256 { get; init; }
}

/// <summary>
/// Saves and loads a model with its optimizer state as one file: an uncompressed zip archive with
/// manifest.json, model.bin (TorchSharp's format) and optionally optimizer.bin. The file is written
/// to a temporary name and renamed, so an interrupted save never leaves a half-written checkpoint.
/// </summary>
public static class Checkpoint
{
    const string ManifestEntry = "manifest.json";
    const string ManifestHashEntry = "manifest.sha256";
    const string ModelEntry = "model.bin";
    const string OptimizerEntry = "optimizer.bin";

    public static CheckpointManifest Save(
        string path, nn.Module model, string architecture, int epoch, long seed, object? settings = null, OptimizerHelper? optimizer = null)
    {
        var entries = new Dictionary<string, byte[]> { [ModelEntry] = Serialize(writer => model.save(writer)) };
        if (optimizer is not null) entries[OptimizerEntry] = Serialize(optimizer.save_state_dict);
        var manifest = new CheckpointManifest
        {
            Architecture = architecture,
            State = Signature(model),
            Epoch = epoch,
            Seed = seed,
            Settings = settings is null ? null : JsonSerializer.SerializeToElement(settings, settings.GetType(), LetheJson.Options),
            HasOptimizer = optimizer is not null,
            Created = DateTimeOffset.UtcNow,
            Sha256 = entries.ToDictionary(e => e.Key, e => Hash(e.Value)),
        };
        var manifestBytes = System.Text.Encoding.UTF8.GetBytes(LetheJson.Serialize(manifest));
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            WriteEntry(zip, ManifestEntry, manifestBytes);
            WriteEntry(zip, ManifestHashEntry, System.Text.Encoding.ASCII.GetBytes(Hash(manifestBytes)));
            foreach (var (name, bytes) in entries) WriteEntry(zip, name, bytes);
        });
        return manifest;
    }

    /// <summary>Reads the manifest and checks every entry against its SHA-256.</summary>
    public static CheckpointManifest ReadManifest(string path) => Open(path, (manifest, _) => manifest);

    /// <summary>
    /// Loads the weights (and the optimizer state, when given and saved) into <paramref name="model"/>,
    /// after checking that the file is intact and was saved from the same architecture.
    /// </summary>
    public static CheckpointManifest Load(string path, nn.Module model, string architecture, OptimizerHelper? optimizer = null)
    {
        return Open(path, (manifest, entries) =>
        {
            if (manifest.Architecture != architecture)
                throw new LetheException($"{path}: checkpoint of a '{manifest.Architecture}' model cannot be loaded into a '{architecture}' model");
            CheckSignature(path, manifest.State, Signature(model));
            byte[]? optimizerState = null;
            if (optimizer is not null && !entries.TryGetValue(OptimizerEntry, out optimizerState))
                throw new LetheException($"{path}: checkpoint holds no optimizer state to resume from");
            using (var reader = new BinaryReader(new MemoryStream(entries[ModelEntry])))
                model.load(reader, strict: true);
            CheckFinite(path, model);
            if (optimizer is not null)
            {
                try
                {
                    using var reader = new BinaryReader(new MemoryStream(optimizerState!));
                    optimizer.load_state_dict(reader);
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException or EndOfStreamException or InvalidOperationException)
                {
                    throw new LetheException($"{path}: its optimizer state does not fit this optimizer ({e.Message.Split('\n')[0]})", e);
                }
            }
            return manifest;
        });
    }

    /// <summary>The names, shapes and types of a model's parameters and buffers.</summary>
    public static TensorSignature[] Signature(nn.Module model) =>
        model.state_dict().Select(p => new TensorSignature(p.Key, p.Value.shape, p.Value.dtype.ToString())).ToArray();

    static T Open<T>(string path, Func<CheckpointManifest, Dictionary<string, byte[]>, T> use)
    {
        if (!File.Exists(path)) throw new LetheException($"checkpoint not found: {path}");
        CheckpointManifest manifest;
        var entries = new Dictionary<string, byte[]>();
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var manifestEntry = zip.GetEntry(ManifestEntry) ?? throw new DataFormatException(path, "is not a Lethe checkpoint (no manifest.json)");
            var manifestBytes = ReadEntry(manifestEntry);
            var hashEntry = zip.GetEntry(ManifestHashEntry) ?? throw new DataFormatException(path, "is damaged: manifest.sha256 is missing");
            if (System.Text.Encoding.ASCII.GetString(ReadEntry(hashEntry)).Trim() != Hash(manifestBytes))
                throw new DataFormatException(path, "is damaged: manifest.json does not match its SHA-256");
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(manifestBytes, LetheJson.Options)
                ?? throw new DataFormatException(path, "has an empty manifest");
            if (manifest.Format != CheckpointManifest.FormatName)
                throw new DataFormatException(path, $"is not a Lethe checkpoint (format '{manifest.Format}')");
            if (manifest.Version != CheckpointManifest.FormatVersion)
                throw new DataFormatException(path, $"checkpoint version {manifest.Version} is not supported (this Lethe reads {CheckpointManifest.FormatVersion})");
            if (manifest.Sha256 is null || manifest.State is null || manifest.Architecture is null || manifest.State.Any(t => t?.Name is null || t.Shape is null))
                throw new DataFormatException(path, "is damaged: its manifest lacks required fields");
            if (!manifest.Sha256.ContainsKey(ModelEntry)) throw new DataFormatException(path, "is damaged: the manifest lists no model");
            foreach (var (name, expected) in manifest.Sha256)
            {
                var entry = zip.GetEntry(name) ?? throw new DataFormatException(path, $"is damaged: entry {name} is missing");
                var bytes = ReadEntry(entry);
                if (Hash(bytes) != expected)
                    throw new DataFormatException(path, $"is damaged: {name} does not match its SHA-256");
                entries[name] = bytes;
            }
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, $"is damaged or not a Lethe checkpoint ({e.Message})");
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, $"is damaged: its manifest is not valid JSON ({e.Message.Split('\n')[0]})");
        }
        return use(manifest, entries);
    }

    /// <summary>A model with NaN or infinite weights only gives NaN outputs: refused when loaded, naming the first such tensor.</summary>
    static void CheckFinite(string path, nn.Module model)
    {
        using var scope = NewDisposeScope();
        foreach (var (name, tensor) in model.state_dict())
        {
            if (tensor.is_floating_point() && !tensor.isfinite().all().item<bool>())
                throw new LetheException($"{path}: weight '{name}' holds NaN/Inf");
        }
    }

    static void CheckSignature(string path, TensorSignature[] saved, TensorSignature[] wanted)
    {
        var savedByName = saved.ToDictionary(s => s.Name);
        foreach (var w in wanted)
        {
            if (!savedByName.TryGetValue(w.Name, out var s))
                throw new LetheException($"{path}: checkpoint has no '{w.Name}' that the model needs: it was saved from another architecture");
            if (!s.Shape.SequenceEqual(w.Shape) || s.Type != w.Type)
                throw new LetheException(
                    $"{path}: '{w.Name}' is {s.ShapeText} {s.Type} in the checkpoint but {w.ShapeText} {w.Type} in the model: it was saved from another configuration");
        }
        var extra = saved.Select(s => s.Name).Except(wanted.Select(w => w.Name)).FirstOrDefault();
        if (extra is not null)
            throw new LetheException($"{path}: checkpoint holds '{extra}', which the model lacks: it was saved from another architecture");
    }

    static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The SHA-256 (hex) of a whole file, e.g. a checkpoint a forget request produced.</summary>
    public static string FileSha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    static byte[] Serialize(Action<BinaryWriter> write)
    {
        using var memory = new MemoryStream();
        using (var writer = new BinaryWriter(memory, System.Text.Encoding.UTF8, leaveOpen: true)) write(writer);
        return memory.ToArray();
    }

    static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using var stream = entry.Open();
        stream.Write(bytes);
    }

    static byte[] ReadEntry(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
