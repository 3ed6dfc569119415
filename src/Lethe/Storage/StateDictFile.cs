using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Lethe.Storage;

/// <summary>
/// PyTorch state dicts on disk, read and written with TorchSharp.PyBridge: <c>.pt</c>, <c>.pth</c> and <c>.ckpt</c>
/// (torch.save's zip format; a checkpoint that nests the weights under "state_dict", as PyTorch Lightning and
/// solo-learn write them, is unwrapped) and <c>.safetensors</c>. Nothing in a file is executed: the unpickler only
/// rebuilds tensors and plain containers.
/// </summary>
public static class StateDictFile
{
    /// <summary>The format a path's extension names: "safetensors" or "pytorch"; anything else is refused.</summary>
    public static string FormatOf(string path)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".safetensors" => "safetensors",
            ".pt" or ".pth" or ".ckpt" or ".bin" => "pytorch",
            _ => throw new LetheException($"{path}: unknown weights format '{extension}': use .pt, .pth, .ckpt (torch.save) or .safetensors"),
        };
    }

    /// <summary>Reads every tensor of a state dict, by name, in the file's order.</summary>
    public static List<KeyValuePair<string, Tensor>> Read(string path)
    {
        if (!File.Exists(path)) throw new LetheException($"weights file not found: {path}");
        var format = FormatOf(path);
        try
        {
            if (format == "safetensors")
            {
                using var stream = File.OpenRead(path);
                return [.. Safetensors.LoadStateDict(stream)];
            }
            using (var probe = File.OpenRead(path))
            {
                Span<byte> magic = stackalloc byte[4];
                if (probe.Read(magic) < 4 || magic[0] != 0x50 || magic[1] != 0x4b)
                    throw new DataFormatException(path, "is not in torch.save's zip format (saved by PyTorch before 1.6, or not a PyTorch file): re-save it with torch.save(model.state_dict(), path) or as .safetensors");
            }
            using var file = File.OpenRead(path);
            var table = PyTorchUnpickler.UnpickleStateDict(file);
            return Unwrap(path, table);
        }
        catch (LetheException)
        {
            throw;
        }
        catch (NotImplementedException e) when (e.Message.Contains("entire model", StringComparison.Ordinal))
        {
            throw new DataFormatException(path, "holds a whole pickled model, not a state dict: save model.state_dict() instead");
        }
        catch (InvalidCastException)
        {
            throw new DataFormatException(path, "is not a state dict: what it holds is not a dict of named tensors");
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or NotImplementedException
            or ArgumentException or InvalidOperationException or KeyNotFoundException or Razorvine.Pickle.PickleException or System.Text.Json.JsonException or OverflowException)
        {
            throw new DataFormatException(path, $"is damaged or not a {format} state dict ({e.Message.Split('\n')[0]})");
        }
    }

    /// <summary>The tensors of a top-level table, or of its "state_dict" (Lightning) or "model" entry.</summary>
    static List<KeyValuePair<string, Tensor>> Unwrap(string path, Hashtable table)
    {
        foreach (var nested in new[] { "state_dict", "model", "model_state_dict" })
        {
            if (table[nested] is Hashtable inner && inner.Values.OfType<Tensor>().Any()) return Tensors(inner);
        }
        var tensors = Tensors(table);
        if (tensors.Count == 0)
            throw new DataFormatException(path, $"holds no tensors at its top level nor under 'state_dict' (keys: {string.Join(", ", table.Keys.OfType<object>().Take(8))})");
        return tensors;
    }

    static List<KeyValuePair<string, Tensor>> Tensors(Hashtable table)
    {
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string key && entry.Value is Tensor tensor) result.Add(new(key, tensor));
        }
        result.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return result;
    }

    /// <summary>Writes a state dict atomically, in the format the extension names (.safetensors, or torch.save's for .pt/.pth).</summary>
    public static void Write(string path, IReadOnlyList<KeyValuePair<string, Tensor>> state)
    {
        var format = FormatOf(path);
        var dictionary = new Dictionary<string, Tensor>();
        foreach (var (key, value) in state) dictionary[key] = value.cpu().contiguous();
        AtomicFile.Write(path, stream =>
        {
            if (format == "safetensors") Safetensors.SaveStateDict(stream, dictionary, leaveOpen: true);
            else
            {
                var table = new Hashtable();
                foreach (var (key, value) in dictionary) table[key] = value;
                PyTorchPickler.PickleStateDict(stream, table, leaveOpen: true);
            }
        });
    }
}
