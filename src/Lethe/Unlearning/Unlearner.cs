using System.Diagnostics;
using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Training;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>One epoch of unlearning: the mean of each term over its steps (<see cref="Forget"/>: a baseline's term on the forget set).</summary>
public sealed record UnlearningEpoch(int Epoch, double Total, double Train, double Penalty, double Norm, double Seconds, double Forget = 0, double Anchor = 0, int? Active = null);

/// <summary>How a run ended: after all epochs, by the stopping rule, or by divergence (weights restored).</summary>
public sealed record UnlearningResult(IReadOnlyList<UnlearningEpoch> Epochs, string StopReason, bool Diverged, double Seconds);

/// <summary>
/// Runs an unlearning method for a few epochs: over the forget set (or, for fine-tuning, over the retained members),
/// with retain and non-member batches drawn alongside for the methods that use them. A loss that becomes NaN or
/// infinite restores the weights of the start of that epoch (the last good ones) and stops the run.
/// </summary>
public sealed class Unlearner
{
    readonly Learner learner;
    readonly UnlearningSettings settings;
    readonly UnlearningMethod method;
    readonly Device device;

    /// <summary>Unlearning <paramref name="learner"/> in place with the method <paramref name="settings"/> name; D is its head or backbone output as they say.</summary>
    public Unlearner(Learner learner, UnlearningSettings settings, Device device)
    {
        settings.Validate();
        this.learner = learner;
        this.settings = settings;
        this.device = device;
        method = UnlearningMethods.Get(settings.Method).Create(learner, settings);
    }

    public Action<UnlearningEpoch>? OnEpoch { get; init; }

    /// <summary>The model an anchoring method holds outputs at (default: the model as the run starts); not disposed here.</summary>
    public Learner? Original { get; init; }

    /// <summary>
    /// Unlearning continues a finished training run, so momentum encoders and EMA targets follow the online network with
    /// the training schedule as it ended: MoCo's key encoder keeps its constant momentum, and BYOL's target, whose tau
    /// reaches 1 at the end of training, stays frozen (docs/gradient-penalty.md says why).
    /// </summary>
    const double AfterTraining = 1.0;

    /// <summary>
    /// Unlearns <paramref name="forgetIds"/> of <paramref name="images"/>. The full variant mixes in
    /// <paramref name="nonMemberIds"/>; fine-tuning, NegGrad+ and Alignment Calibration train on <paramref name="retainIds"/>.
    /// </summary>
    public UnlearningResult Run(ImageSet images, IReadOnlyList<int> forgetIds, IReadOnlyList<int>? nonMemberIds = null, CancellationToken cancel = default,
        IReadOnlyList<int>? retainIds = null)
    {
        if (forgetIds.Count < 2) throw new LetheException("the forget set needs at least 2 samples (batch norm and the contrastive loss need pairs)");
        if (method.NeedsNonMembers && (nonMemberIds is null || nonMemberIds.Count == 0))
            throw new LetheException($"{settings.Method} needs non-member data; give the split's shadow non-members");
        if (method.NeedsRetain && (retainIds is null || retainIds.Count < 2))
            throw new LetheException($"{settings.Method} trains on the retained members; give at least 2");
        if (settings.BatchNorm == BatchNormMode.Recalibrate && (retainIds is null || retainIds.Count < 2))
            throw new LetheException("re-estimating batch-norm statistics needs the retained members; give at least 2");
        method.Original = Original;
        var context = new UnlearningContext(images, forgetIds, nonMemberIds, retainIds, device, settings.Seed);
        optim.Optimizer optimizer = settings.Optimizer == UnlearningOptimizer.Sgd
            ? optim.SGD(learner.TrainableParameters(), settings.LearningRate)
            : FusedAdam.Create(learner.TrainableParameters(), settings.LearningRate);
        var epochs = new List<UnlearningEpoch>();
        var watch = Stopwatch.StartNew();
        var stop = "all epochs done";
        var diverged = false;
        // Frozen batch norm: every step sees the deployed function, and the running statistics stay the original's.
        learner.train(settings.BatchNorm != BatchNormMode.Frozen);
        for (var epoch = 0; epoch < settings.Epochs && !cancel.IsCancellationRequested; epoch++)
        {
            var epochWatch = Stopwatch.StartNew();
            if (method.BeforeEpoch(epoch, context) is { } done)
            {
                stop = done;
                break;
            }
            var lastGood = Snapshot(learner);
            int[]? Shuffled(IReadOnlyList<int>? ids, string purpose)
            {
                if (ids is null) return null;
                var copy = ids.ToArray();
                Seeds.Random(settings.Seed, $"unlearn/{purpose}/{epoch}").Shuffle(copy);
                return copy;
            }
            var forget = Shuffled(forgetIds, "order")!;
            var others = Shuffled(method.NeedsNonMembers ? method.BatchNonMembers(nonMemberIds!) : null, "non-members");
            var retain = Shuffled(method.NeedsRetain ? retainIds : null, "retain");
            var driver = method.DrivenByRetain ? retain! : forget;
            using var generator = new Generator((ulong)Seeds.Derive(settings.Seed, $"unlearn/augment/{epoch}"));
            var sums = new double[6];
            var steps = 0;
            for (var start = 0; start + 1 < driver.Length && !diverged; start += settings.BatchSize)
            {
                using var scope = NewDisposeScope();
                var size = Math.Min(settings.BatchSize, driver.Length - start);
                if (size < 2) break; // a lone sample cannot pass batch norm in training mode
                int[] Cycle(int[] ids) => [.. Enumerable.Range(start, size).Select(i => ids[i % ids.Length])];
                var forgetBatch = method.DrivenByRetain ? Cycle(forget) : forget.AsSpan(start, size).ToArray();
                var retainBatch = retain is null ? null : Cycle(retain);
                var batch = new UnlearningBatch(
                    images.Batch(forgetBatch, device), images.LabelBatch(forgetBatch, device),
                    retainBatch is null ? null : images.Batch(retainBatch, device), retainBatch is null ? null : images.LabelBatch(retainBatch, device),
                    others is null ? null : images.Batch(Cycle(others), device), forgetBatch);
                optimizer.zero_grad();
                var (loss, terms) = method.Loss(batch, generator);
                if (!double.IsFinite(terms.Total))
                {
                    Restore(learner, lastGood);
                    diverged = true;
                    stop = $"the loss became {terms.Total} at epoch {epoch + 1}; the weights of the start of that epoch were restored";
                    break;
                }
                loss.backward();
                optimizer.step();
                learner.AfterStep(AfterTraining);
                sums[0] += terms.Total;
                sums[1] += terms.Train;
                sums[2] += terms.Penalty;
                sums[3] += terms.Norm;
                sums[4] += terms.Forget;
                sums[5] += terms.Anchor;
                steps++;
            }
            // A finite loss can still take a step to infinite weights; the next epoch would only find NaN outputs.
            if (!diverged && !Finite(learner, images, forget))
            {
                Restore(learner, lastGood);
                diverged = true;
                stop = $"the weights became infinite or NaN at epoch {epoch + 1}; the weights of the start of that epoch were restored";
            }
            foreach (var t in lastGood.Values) t.Dispose();
            if (diverged) break;
            var record = new UnlearningEpoch(
                epoch + 1, sums[0] / steps, sums[1] / steps, sums[2] / steps, sums[3] / steps, epochWatch.Elapsed.TotalSeconds, sums[4] / steps, sums[5] / steps, method.Active);
            epochs.Add(record);
            OnEpoch?.Invoke(record);
            if (StoppingRule(epochs) is { } reason)
            {
                stop = reason;
                break;
            }
        }
        if (cancel.IsCancellationRequested && !diverged) stop = "cancelled";
        else if (settings.BatchNorm == BatchNormMode.Recalibrate) BatchNormStatistics.Reestimate(learner, images, retainIds!, settings.BatchSize, device);
        (method as IDisposable)?.Dispose(); // a method's own copies (the anchor's original model) go with the run
        return new UnlearningResult(epochs, stop, diverged, watch.Elapsed.TotalSeconds);
    }

    /// <summary>The paper's observation made a rule: once the penalty is near zero (or no longer falls), the attack no longer works.</summary>
    string? StoppingRule(List<UnlearningEpoch> epochs)
    {
        if (!method.UsesPenalty) return null;
        var last = epochs[^1].Penalty;
        if (settings.StopBelow > 0 && last < settings.StopBelow) return $"penalty {last:G3} fell below {settings.StopBelow:G3}";
        if (settings.Patience > 0 && epochs.Count > settings.Patience)
        {
            var best = epochs.Take(epochs.Count - settings.Patience).Min(e => e.Penalty);
            if (epochs.Skip(epochs.Count - settings.Patience).All(e => e.Penalty > best * 0.99))
                return $"penalty stopped falling for {settings.Patience} epochs";
        }
        return null;
    }

    /// <summary>Whether the weights, and the outputs on the forget set (which overflow first), are all finite.</summary>
    bool Finite(Learner model, ImageSet images, int[] forget)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var probe = images.Batch(forget, device);
        return model.parameters().All(p => isfinite(p).all().item<bool>())
            && model.Evaluating(() => isfinite(model.Output(probe, settings.Output)).all().item<bool>());
    }

    static Dictionary<string, Tensor> Snapshot(nn.Module module) => module.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    static void Restore(nn.Module module, Dictionary<string, Tensor> saved)
    {
        using var noGrad = no_grad();
        foreach (var (name, value) in module.state_dict()) value.copy_(saved[name]);
    }
}
