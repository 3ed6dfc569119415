using System.Text.Json.Serialization;

namespace Lethe.Models;

/// <summary>
/// Which backbone to build and how big. <c>small-cnn</c>: three 3x3 conv blocks of Width, 2 Width, 4 Width
/// channels (the first two followed by 2x2 max-pooling), then either global average pooling
/// (<see cref="Pooled"/>) or a fully connected layer of <see cref="FeatureDim"/> units; the fully connected
/// form has the capacity to memorise a small member set. <c>resnet18</c>: ResNet-18 in its CIFAR form
/// (3x3 stem, no max-pool) with base width Width (64 in the paper); features are 8 Width wide.
/// </summary>
public sealed record EncoderSettings
{
    public string Architecture { get; init; } = "small-cnn";

    public int Width { get; init; } = 32;

    public int FeatureDim { get; init; } = 256;

    public bool Pooled { get; init; }

    /// <summary>Hidden and output width of the projection head (and BYOL's predictor).</summary>
    public int HeadHidden { get; init; } = 256;

    public int HeadDim { get; init; } = 128;

    /// <summary>
    /// ResNet-18's stem: <c>cifar</c> (3x3 stride 1, padding 1, no max-pool; the default, null in the JSON),
    /// <c>cifar-pad2</c> (the same with padding 2, as solo-learn builds it) or <c>imagenet</c> (torchvision's 7x7 stride 2
    /// with a 3x3 stride-2 max-pool). Imported models bring theirs (docs/own-model.md).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Stem { get; init; }

    /// <summary>
    /// Where the projection head (and BYOL's predictor) has batch norm: <c>hidden</c> (Linear, BatchNorm, ReLU, Linear;
    /// the default, null in the JSON), <c>none</c> (Linear, ReLU, Linear, both with bias: solo-learn's SimCLR and MoCo
    /// v2+) or <c>both</c> (a BatchNorm after the output Linear too, neither Linear with bias: lightly's SimCLR head).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? HeadNorm { get; init; }

    /// <summary>Hidden width of BYOL's predictor when it differs from the head's (solo-learn's pred_hidden_dim); null: HeadHidden.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? PredictorHidden { get; init; }

    [JsonIgnore]
    public string StemKind => Stem ?? "cifar";

    [JsonIgnore]
    public string HeadNormKind => HeadNorm ?? "hidden";

    public void Validate()
    {
        if (Architecture is not ("small-cnn" or "resnet18"))
            throw new LetheException($"unknown encoder '{Architecture}': use small-cnn or resnet18");
        if (StemKind is not ("cifar" or "cifar-pad2" or "imagenet"))
            throw new LetheException($"unknown ResNet stem '{Stem}': use cifar, cifar-pad2 or imagenet");
        if (HeadNormKind is not ("hidden" or "none" or "both"))
            throw new LetheException($"unknown head batch-norm placement '{HeadNorm}': use hidden, none or both");
        if (Width < 1 || FeatureDim < 1 || HeadHidden < 1 || HeadDim < 1 || PredictorHidden < 1)
            throw new LetheException("encoder widths must be positive");
    }
}
