using Lethe.Data;
using Lethe.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Contrastive;

/// <summary>A finished or stopped pretraining run folder: its recipe, its split, and the models saved in it.</summary>
public sealed record PretrainRun(string Folder, PretrainSettings Settings, MembershipSplit Split, Dataset Data)
{
    public string FinalCheckpoint => Path.Combine(Folder, ContrastiveTrainer.FinalCheckpoint);

    /// <summary>Opens <paramref name="folder"/>, loading its data set from <paramref name="dataDirectory"/> (or the default place).</summary>
    public static PretrainRun Open(string folder, string? dataDirectory = null, Dataset? data = null)
    {
        var settingsPath = Path.Combine(folder, ContrastiveTrainer.SettingsFile);
        if (!File.Exists(settingsPath)) throw new LetheException($"{folder} is not a pretraining run: it has no {ContrastiveTrainer.SettingsFile}");
        var settings = LetheJson.ReadFile<PretrainSettings>(settingsPath, "run settings");
        settings.Validate();
        data ??= Datasets.Load(Datasets.Parse(settings.Dataset), dataDirectory);
        var split = MembershipSplit.Load(Path.Combine(folder, ContrastiveTrainer.SplitFile), data);
        return new PretrainRun(folder, settings, split, data);
    }

    /// <summary>The run's model with the weights of <paramref name="checkpoint"/> (default: final.ckpt), which must be of the run's architecture.</summary>
    public ContrastiveModel LoadModel(Device device, string? checkpoint = null)
    {
        checkpoint ??= FinalCheckpoint;
        if (!File.Exists(checkpoint))
            throw new LetheException(checkpoint == FinalCheckpoint ? $"the run in {Folder} has not finished: it has no {ContrastiveTrainer.FinalCheckpoint} (resume it with lethe pretrain --resume --out {Folder})" : $"no checkpoint at {checkpoint}");
        var model = ContrastiveModels.Create(Settings, Data.Train.Channels, Data.Train.Height, Data.Train.Width);
        model.to(device);
        Checkpoint.Load(checkpoint, model, ContrastiveModels.Architecture(Settings));
        return model;
    }
}
