using Lethe.Models;

namespace Lethe.Contrastive;

/// <summary>Builds the model a <see cref="PretrainSettings"/> describes.</summary>
public static class ContrastiveModels
{
    public static ContrastiveModel Create(PretrainSettings settings, int channels, int height, int width)
    {
        settings.Validate();
        var encoder = settings.Encoder;
        Func<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>> backbone = () => Backbones.Create(encoder, channels, height, width);
        return settings.Method switch
        {
            "simclr" => new SimClr(backbone, encoder, settings.Temperature),
            "moco" => new MoCo(backbone, encoder, settings.Temperature, settings.QueueSize, settings.KeyMomentum),
            "byol" => new Byol(backbone, encoder, settings.TauBase),
            _ => throw new LetheException($"unknown method '{settings.Method}'"),
        };
    }

    /// <summary>The architecture name written into checkpoints, e.g. moco/small-cnn.</summary>
    public static string Architecture(PretrainSettings settings) => $"{settings.Method}/{settings.Encoder.Architecture}";
}
