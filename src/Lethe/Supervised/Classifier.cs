using Lethe.Models;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Supervised;

/// <summary>A supervised image classifier: a backbone (small CNN or ResNet-18) and a linear layer onto the classes.</summary>
public sealed class Classifier : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // TorchSharp names submodules after their fields.
    readonly Module<Tensor, Tensor> backbone;
    readonly Module<Tensor, Tensor> head;
#pragma warning restore IDE1006

    public Classifier(EncoderSettings encoder, int channels, int height, int width, int classes) : base("classifier")
    {
        if (classes < 2) throw new LetheException($"a classifier needs at least 2 classes, not {classes}");
        backbone = Backbones.Create(encoder, channels, height, width);
        head = Linear(Backbones.FeatureDim(backbone), classes);
        Classes = classes;
        RegisterComponents();
    }

    public int Classes { get; }

    /// <summary>Backbone features of images.</summary>
    public Tensor Features(Tensor images) => backbone.forward(images);

    /// <summary>Class logits.</summary>
    public override Tensor forward(Tensor images) => head.forward(backbone.forward(images));

    /// <summary>The architecture name written into checkpoints, e.g. classifier/small-cnn.</summary>
    public static string Architecture(EncoderSettings encoder) => $"classifier/{encoder.Architecture}";
}
