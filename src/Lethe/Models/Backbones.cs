using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Models;

/// <summary>A network that maps images to a feature vector of <see cref="FeatureDim"/> values.</summary>
public interface IBackbone
{
    int FeatureDim { get; }
}

/// <summary>Builds backbones and heads from settings.</summary>
public static class Backbones
{
    public static Module<Tensor, Tensor> Create(EncoderSettings settings, int channels, int height, int width)
    {
        settings.Validate();
        return settings.Architecture switch
        {
            "small-cnn" => new SmallCnn(channels, height, width, settings),
            "resnet18" => new ResNet18(channels, settings),
            _ => throw new LetheException($"unknown encoder '{settings.Architecture}'"),
        };
    }

    public static int FeatureDim(Module<Tensor, Tensor> backbone) => ((IBackbone)backbone).FeatureDim;

    /// <summary>
    /// The projection head (and BYOL's predictor): Linear, BatchNorm, ReLU, Linear by default; see
    /// <see cref="EncoderSettings.HeadNorm"/> for the other placements. A Linear followed by batch norm has no bias.
    /// </summary>
    public static Module<Tensor, Tensor> Mlp(int input, int hidden, int output, string? norm = null) => (norm ?? "hidden") switch
    {
        "hidden" => Sequential(("fc1", Linear(input, hidden, hasBias: false)), ("bn", BatchNorm1d(hidden)), ("relu", ReLU()), ("fc2", Linear(hidden, output))),
        "none" => Sequential(("fc1", Linear(input, hidden)), ("relu", ReLU()), ("fc2", Linear(hidden, output))),
        "both" => Sequential(("fc1", Linear(input, hidden, hasBias: false)), ("bn", BatchNorm1d(hidden)), ("relu", ReLU()),
            ("fc2", Linear(hidden, output, hasBias: false)), ("bn2", BatchNorm1d(output))),
        _ => throw new LetheException($"unknown head batch-norm placement '{norm}': use hidden, none or both"),
    };
}
