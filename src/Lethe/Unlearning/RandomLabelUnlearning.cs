using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>Random labels (a classifier baseline): cross-entropy towards a wrong class, drawn afresh each step, for every forget sample.</summary>
public sealed class RandomLabelUnlearning : UnlearningMethod
{
    public RandomLabelUnlearning(Learner learner, UnlearningSettings settings) : base(learner, settings)
    {
        if (learner.Classes < 2) throw new LetheException("random labels needs a classifier: an encoder has no labels to randomise");
    }

    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator)
    {
        var wrong = WrongLabels(batch.ForgetLabels, Learner.Classes, generator);
        var loss = Learner.TrainingLoss(batch.Forget, wrong, generator).Loss;
        return (loss, new UnlearningTerms(Value(loss), Value(loss), 0, 0));
    }

    /// <summary>For each label y, a class drawn uniformly from the other classes: (y + U{1, ..., C-1}) mod C.</summary>
    public static Tensor WrongLabels(Tensor labels, int classes, Generator generator)
    {
        var shift = randint(1, classes, labels.shape, generator: generator, dtype: ScalarType.Int64).to(labels.device);
        return (labels + shift).remainder(classes);
    }
}
