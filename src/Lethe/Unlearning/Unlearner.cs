using System.Diagnostics;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Runtime;
using static TorchSharp.torch;

namespace Lethe.Unlearning;

/// <summary>One epoch of unlearning: the mean of each term over its steps.</summary>
public sealed record UnlearningEpoch(int Epoch, double Total, double Train, double Penalty, double Norm, double Seconds);

/// <summary>How a run ended: after all epochs, by the stopping rule, or by divergence (weights restored).</summary>
public sealed record UnlearningResult(IReadOnlyList<UnlearningEpoch> Epochs, string StopReason, bool Diverged, double Seconds);

/// <summary>
/// Runs a gradient-penalty unlearning method over the forget set for a few epochs. A loss that becomes NaN or
/// infinite restores the weights of the start of that epoch (the last good ones) and stops the run.
/// </summary>
public sealed class Unlearner
{
    readonly ContrastiveModel model;
    readonly UnlearningSettings settings;
    readonly GradientPenaltyUnlearning method;
    readonly Device device;

    public Unlearner(ContrastiveModel model, UnlearningSettings settings, AugmentationSettings augmentation, Device device)
    {
        settings.Validate();
        this.model = model;
        this.settings = settings;
        this.device = device;
        var augment = new ContrastiveAugmentation(augmentation);
        method = settings.Method == "memgp"
            ? new MemGpUnlearning(model, settings, augment)
            : new FullGradientPenaltyUnlearning(model, settings, augment);
    }

    public Action<UnlearningEpoch>? OnEpoch { get; init; }

    /// <summary>Unlearns <paramref name="forgetIds"/> of <paramref name="images"/>; the full variant mixes in <paramref name="nonMemberIds"/>.</summary>
    public UnlearningResult Run(ImageSet images, IReadOnlyList<int> forgetIds, IReadOnlyList<int>? nonMemberIds = null, CancellationToken cancel = default)
    {
        if (forgetIds.Count < 2) throw new LetheException("the forget set needs at least 2 samples (batch norm and the contrastive loss need pairs)");
        if (settings.Method == "gp" && settings.Beta > 0 && (nonMemberIds is null || nonMemberIds.Count == 0))
            throw new LetheException("the full variant (gp) needs non-member data; give the split's shadow non-members");
        var optimizer = optim.Adam(model.TrainableParameters(), lr: settings.LearningRate);
        var epochs = new List<UnlearningEpoch>();
        var watch = Stopwatch.StartNew();
        var stop = "all epochs done";
        var diverged = false;
        model.train();
        for (var epoch = 0; epoch < settings.Epochs && !cancel.IsCancellationRequested; epoch++)
        {
            var epochWatch = Stopwatch.StartNew();
            var lastGood = Snapshot();
            var order = forgetIds.ToArray();
            Seeds.Random(settings.Seed, $"unlearn/order/{epoch}").Shuffle(order);
            var others = nonMemberIds?.ToArray();
            if (others is not null) Seeds.Random(settings.Seed, $"unlearn/non-members/{epoch}").Shuffle(others);
            using var generator = new Generator((ulong)Seeds.Derive(settings.Seed, $"unlearn/augment/{epoch}"));
            var sums = new double[4];
            var steps = 0;
            for (var start = 0; start + 1 < order.Length && !diverged; start += settings.BatchSize)
            {
                using var scope = NewDisposeScope();
                var batch = order.AsSpan(start, Math.Min(settings.BatchSize, order.Length - start));
                if (batch.Length < 2) break; // a lone sample cannot pass batch norm in training mode
                var forget = images.Batch(batch, device);
                Tensor? nonMembers = null;
                if (others is not null)
                {
                    var picked = Enumerable.Range(start, batch.Length).Select(i => others[i % others.Length]).ToArray();
                    nonMembers = images.Batch(picked, device);
                }
                optimizer.zero_grad();
                var (loss, terms) = method.Loss(forget, nonMembers, generator);
                if (!double.IsFinite(terms.Total))
                {
                    Restore(lastGood);
                    diverged = true;
                    stop = $"the loss became {terms.Total} at epoch {epoch + 1}; the weights of the start of that epoch were restored";
                    break;
                }
                loss.backward();
                optimizer.step();
                model.AfterStep(1.0);
                sums[0] += terms.Total;
                sums[1] += terms.Train;
                sums[2] += terms.Penalty;
                sums[3] += terms.Norm;
                steps++;
            }
            foreach (var t in lastGood.Values) t.Dispose();
            if (diverged) break;
            var record = new UnlearningEpoch(epoch + 1, sums[0] / steps, sums[1] / steps, sums[2] / steps, sums[3] / steps, epochWatch.Elapsed.TotalSeconds);
            epochs.Add(record);
            OnEpoch?.Invoke(record);
            if (StoppingRule(epochs) is { } reason)
            {
                stop = reason;
                break;
            }
        }
        if (cancel.IsCancellationRequested && !diverged) stop = "cancelled";
        return new UnlearningResult(epochs, stop, diverged, watch.Elapsed.TotalSeconds);
    }

    /// <summary>The paper's observation made a rule: once the penalty is near zero (or no longer falls), the attack no longer works.</summary>
    string? StoppingRule(List<UnlearningEpoch> epochs)
    {
        if (settings.Beta == 0) return null;
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

    Dictionary<string, Tensor> Snapshot() => model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    void Restore(Dictionary<string, Tensor> saved)
    {
        using var noGrad = no_grad();
        foreach (var (name, value) in model.state_dict()) value.copy_(saved[name]);
    }
}
