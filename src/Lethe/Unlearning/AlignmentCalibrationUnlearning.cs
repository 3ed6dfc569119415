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
    public AlignmentCalibrationUnlearning(UnlearningTarget target, UnlearningSettings settings) : base(target, settings)
    {
        if (target is not ContrastiveTarget) throw new LetheException("alignment calibration works on contrastive encoders, not classifiers");
    }

    public override bool NeedsRetain => true;

    public override (Tensor Loss, UnlearningTerms Terms) Loss(UnlearningBatch batch, Generator generator)
    {
        var retain = Target.TrainLoss(batch.Retain!, batch.RetainLabels!, generator);
        var alignment = Target.Alignment(batch.Forget, generator)!;
        var loss = retain + Settings.AlignmentWeight * alignment;
        return (loss, new UnlearningTerms(Value(loss), Value(retain), 0, 0, Value(alignment)));
    }
}
