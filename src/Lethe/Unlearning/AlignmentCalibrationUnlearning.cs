using Lethe.Contrastive;
using Lethe.Models;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>
/// Alignment Calibration (Wang et al., 2024, "MUC"), an encoder baseline: the contrastive loss on retain batches keeps
/// the encoder useful, and a calibration term lowers the alignment (mean cosine similarity) of the forget set's
/// augmented views, which is exactly the signal EncoderMI reads: L_retain + w * alignment(forget),
/// w = <see cref="UnlearningSettings.AlignmentWeight"/>.
/// </summary>
public sealed class AlignmentCalibrationUnlearning : UnlearningMethod
{
    readonly ContrastiveLearner encoder;

    public AlignmentCalibrationUnlearning(Learner learner, UnlearningSettings settings) : base(learner, settings) =>
        encoder = learner as ContrastiveLearner ?? throw new LetheException("alignment calibration works on contrastive encoders, not classifiers");

    public override bool NeedsRetain => true;

    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator)
    {
        var retain = Learner.TrainingLoss(batch.Retain!, batch.RetainLabels!, generator).Loss;
        var alignment = encoder.Alignment(batch.Forget, generator);
        var loss = retain + Settings.AlignmentWeight * alignment;
        return (loss, new UnlearningTerms(Value(loss), Value(retain), 0, 0, Value(alignment)));
    }
}
