using System.Text.Json;
using Lethe.Data;
using Lethe.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Supervised;

/// <summary>A supervised training run folder: its recipe, its split, and the classifiers saved in it.</summary>
public sealed record ClassifierRun(string Folder, ClassifierSettings Settings, MembershipSplit Split, Dataset Data)
{
    public string FinalCheckpoint => Path.Combine(Folder, RunFolder.FinalCheckpoint);

    /// <summary>Whether <paramref name="folder"/> holds a supervised run (its settings have no contrastive method).</summary>
    public static bool IsClassifierRun(string folder)
    {
        var path = Path.Combine(folder, RunFolder.SettingsFile);
        if (!File.Exists(path)) return false;
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(path));
            return json.RootElement.ValueKind == JsonValueKind.Object && !json.RootElement.TryGetProperty("method", out _);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, $"run settings are not valid JSON ({e.Message.Split('\n')[0]})");
        }
    }

    public static ClassifierRun Open(string folder, string? dataDirectory = null, Dataset? data = null)
    {
        var settings = LetheJson.ReadFile<ClassifierSettings>(Path.Combine(folder, RunFolder.SettingsFile), "run settings");
        settings.Validate();
        data ??= Datasets.Load(Datasets.Parse(settings.Dataset), dataDirectory);
        var split = MembershipSplit.Load(Path.Combine(folder, RunFolder.SplitFile), data);
        return new ClassifierRun(folder, settings, split, data);
    }

    public Classifier LoadModel(Device device, string? checkpoint = null)
    {
        checkpoint ??= FinalCheckpoint;
        if (!File.Exists(checkpoint))
            throw new LetheException(checkpoint == FinalCheckpoint ? $"the run in {Folder} has not finished: it has no {RunFolder.FinalCheckpoint} (resume it with lethe train --resume --out {Folder})" : $"no checkpoint at {checkpoint}");
        var model = new Classifier(Settings.Encoder, Data.Train.Channels, Data.Train.Height, Data.Train.Width, Data.Train.ClassCount);
        model.to(device);
        Checkpoint.Load(checkpoint, model, Classifier.Architecture(Settings.Encoder));
        return model;
    }
}
