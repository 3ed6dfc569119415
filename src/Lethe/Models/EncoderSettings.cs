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

    public void Validate()
    {
        if (Architecture is not ("small-cnn" or "resnet18"))
            throw new LetheException($"unknown encoder '{Architecture}': use small-cnn or resnet18");
        if (Width < 1 || FeatureDim < 1 || HeadHidden < 1 || HeadDim < 1)
            throw new LetheException("encoder widths must be positive");
    }
}
