using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Training;

/// <summary>A finished or stopped training run folder of any learner: its recipe, its split, and the models saved in it.</summary>
public sealed record TrainingRun(string Folder, TrainingSettings Settings, MembershipSplit Split, Dataset Data)
{
    public string FinalCheckpoint => Path.Combine(Folder, RunFolder.FinalCheckpoint);

    /// <summary>Opens <paramref name="folder"/>, loading its data set from <paramref name="dataDirectory"/> (or the default place) unless given.</summary>
    public static TrainingRun Open(string folder, string? dataDirectory = null, Dataset? data = null)
    {
        var settings = ReadSettings(folder);
        data ??= Datasets.Load(settings.Dataset, dataDirectory, settings.Folder);
        var split = MembershipSplit.Load(Path.Combine(folder, RunFolder.SplitFile), data);
        return new TrainingRun(folder, settings, split, data);
    }

    /// <summary>
    /// A run folder's settings.json. Runs of Lethe before the one learner stack wrote a classifier's settings without a
    /// <c>method</c>: those are read as <c>classifier</c> runs, so old run folders keep loading.
    /// </summary>
    public static TrainingSettings ReadSettings(string folder)
    {
        var path = Path.Combine(folder, RunFolder.SettingsFile);
        if (!File.Exists(path)) throw new LetheException($"{folder} is not a training run: it has no {RunFolder.SettingsFile}");
        JsonObject node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DataFormatException(path, "run settings must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, $"run settings are not valid JSON ({e.Message.Split('\n')[0]})");
        }
        if (!node.Any(p => string.Equals(p.Key, "method", StringComparison.OrdinalIgnoreCase))) node["method"] = "classifier";
        var settings = LetheJson.DeserializeSettings<TrainingSettings>(node, path);
        settings.Validate();
        return settings;
    }

    /// <summary>Builds an untrained learner of <paramref name="settings"/> for <paramref name="data"/>'s image shape and classes.</summary>
    public static Learner Build(TrainingSettings settings, Dataset data, Device device)
    {
        settings.Validate();
        var train = data.Train;
        var model = Seeds.WithGlobalGenerator(null, () => TrainingMethods.Get(settings.Method).Create(settings, train.Channels, train.Height, train.Width, train.ClassCount));
        model.to(device);
        return model;
    }

    /// <summary>The run's learner with the weights of <paramref name="checkpoint"/> (default: final.ckpt), which must be of the run's architecture.</summary>
    public Learner LoadModel(Device device, string? checkpoint = null)
    {
        checkpoint ??= FinalCheckpoint;
        if (!File.Exists(checkpoint))
            throw new LetheException(checkpoint == FinalCheckpoint
                ? $"the run in {Folder} has not finished: it has no {RunFolder.FinalCheckpoint} (resume it with lethe {(Settings.IsEncoder ? "pretrain" : "train")} --resume --out {Folder})"
                : $"no checkpoint at {checkpoint}");
        var model = Build(Settings, Data, device);
        Checkpoint.Load(checkpoint, model, Settings.Architecture);
        return model;
    }
}
