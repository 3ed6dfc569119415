using Lethe.Contrastive;
using Lethe.Data;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Models;

/// <summary>Batch norm's running statistics estimated afresh on chosen samples.</summary>
public static class BatchNormStatistics
{
    /// <summary>
    /// Resets the running mean and variance of every batch norm on D's path (backbone and head; not a key encoder or
    /// target network) and re-estimates them as the plain average over clean batches of <paramref name="ids"/>, as
    /// PyTorch's momentum=None does. The weights do not change.
    /// </summary>
    public static void Reestimate(Learner model, ImageSet images, IReadOnlyList<int> ids, int batchSize, Device device)
    {
        if (ids.Count < 2) throw new LetheException("re-estimating batch-norm statistics needs at least 2 samples");
        var onPath = model is ContrastiveLearner encoder ? encoder.Backbone.modules().Concat(encoder.Projector.modules()) : model.modules();
        var norms = onPath.OfType<BatchNorm>().Distinct().ToArray();
        if (norms.Length == 0) return;
        var momenta = norms.Select(n => n.momentum).ToArray();
        var wasTraining = model.training;
        try
        {
            foreach (var norm in norms)
            {
                norm.reset_running_stats();
                norm.momentum = null;
            }
            model.train();
            using var noGrad = no_grad();
            var size = Math.Max(2, batchSize);
            for (var start = 0; start < ids.Count; start += size)
            {
                // A lone last sample cannot pass batch norm in training mode; it joins no batch.
                if (ids.Count - start < 2) break;
                using var scope = NewDisposeScope();
                model.Output(images.Batch([.. ids.Skip(start).Take(size)], device));
            }
        }
        finally
        {
            for (var i = 0; i < norms.Length; i++) norms[i].momentum = momenta[i];
            model.train(wasTraining);
        }
    }
}
