using Lethe.Data;
using Lethe.Models;
using Lethe.Training;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Lethe.Supervised;

/// <summary>
/// A supervised image classifier: a backbone (small CNN or ResNet-18) and a linear layer onto the classes. Its training
/// loss is cross-entropy with the labels (after the recipe's augmentation, none by default); its D is the logits.
/// </summary>
public sealed class Classifier : Learner
{
#pragma warning disable IDE1006 // TorchSharp names submodules after their fields.
    readonly Module<Tensor, Tensor> head;
#pragma warning restore IDE1006
    readonly ContrastiveAugmentation augmentation;
    readonly bool augment;

    public Classifier(TrainingSettings recipe, int channels, int height, int width, int classes) : base("classifier", recipe, channels, height, width)
    {
        if (classes < 2) throw new LetheException($"a classifier needs at least 2 classes, not {classes}");
        head = Linear(Backbones.FeatureDim(backbone), classes);
        Classes = classes;
        augmentation = new ContrastiveAugmentation(recipe.Augmentation);
        augment = recipe.Augmentation != AugmentationSettings.None;
        RegisterComponents();
    }

    public override int Classes { get; }

    /// <summary>Backbone first, then the head: the order of the optimizer state in checkpoints.</summary>
    public override IEnumerable<TorchSharp.Modules.Parameter> TrainableParameters() => backbone.parameters().Concat(head.parameters());

    /// <summary>Class logits (<c>head</c>) or backbone features.</summary>
    public override Tensor Output(Tensor images, string output = "head") => output == "backbone" ? Features(images) : head.forward(Features(images));

    public override (Tensor Loss, Tensor? Logits) TrainingLoss(Tensor images, Tensor labels, Generator generator)
    {
        if (augment) images = augmentation.Apply(images, generator);
        var logits = Output(images);
        return (functional.cross_entropy(logits, labels), logits);
    }
}
