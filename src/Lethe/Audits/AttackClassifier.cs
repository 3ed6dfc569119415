using Lethe.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Audits;

/// <summary>
/// The learned part of a vector or shadow-model attack: a small MLP (one hidden layer, as in EncoderMI) from a
/// per-sample feature vector to the probability of membership. Features are standardised with the fitting data's
/// mean and spread; the two classes are weighted equally whatever their counts.
/// </summary>
public sealed class AttackClassifier
{
    readonly Sequential network;
    readonly double[] mean;
    readonly double[] scale;

    AttackClassifier(Sequential network, double[] mean, double[] scale)
    {
        this.network = network;
        this.mean = mean;
        this.scale = scale;
    }

    public static AttackClassifier Fit(IReadOnlyList<double[]> members, IReadOnlyList<double[]> nonMembers, long seed, int hidden = 32, int epochs = 300, double learningRate = 1e-2, double weightDecay = 1e-3)
    {
        if (members.Count == 0 || nonMembers.Count == 0) throw new LetheException("an attack classifier needs known members and non-members to fit on");
        var width = members[0].Length;
        if (width == 0 || members.Concat(nonMembers).Any(v => v.Length != width)) throw new ArgumentException("attack features must be non-empty vectors of one length");
        var all = members.Concat(nonMembers).ToArray();
        var mean = Enumerable.Range(0, width).Select(d => all.Average(v => v[d])).ToArray();
        var scale = Enumerable.Range(0, width).Select(d => Math.Sqrt(all.Average(v => (v[d] - mean[d]) * (v[d] - mean[d]))) is var sd && sd > 1e-12 ? sd : 1).ToArray();

        using var grad = enable_grad(); // fitting needs autograd even when an audit runs inside no_grad
        var network = Seeds.WithGlobalGenerator(Seeds.Derive(seed, "attack-classifier"), () => nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, 1)));
        using var scope = NewDisposeScope();
        var classifier = new AttackClassifier(network, mean, scale);
        var x = classifier.Standardise(all);
        var y = tensor(members.Select(_ => 1f).Concat(nonMembers.Select(_ => 0f)).ToArray());
        var weights = tensor(members.Select(_ => 0.5f / members.Count).Concat(nonMembers.Select(_ => 0.5f / nonMembers.Count)).ToArray());
        var optimizer = optim.Adam(network.parameters(), lr: learningRate, weight_decay: weightDecay);
        network.train();
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            using var step = NewDisposeScope();
            optimizer.zero_grad();
            var logits = network.forward(x).squeeze(1);
            var loss = (nn.functional.binary_cross_entropy_with_logits(logits, y, reduction: nn.Reduction.None) * weights).sum();
            loss.backward();
            optimizer.step();
        }
        network.eval();
        return classifier;
    }

    /// <summary>
    /// Membership log-odds of each feature vector (0 is the even-odds threshold). Log-odds rather than
    /// probabilities, because a float sigmoid saturates at 1 and would turn confident members into ties.
    /// </summary>
    public double[] Score(IReadOnlyList<double[]> features)
    {
        if (features.Count == 0) return [];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return network.forward(Standardise(features)).squeeze(1).to(ScalarType.Float64).data<double>().ToArray();
    }

    Tensor Standardise(IReadOnlyList<double[]> features)
    {
        var flat = new float[features.Count * mean.Length];
        for (var i = 0; i < features.Count; i++)
        {
            if (features[i].Length != mean.Length) throw new ArgumentException($"attack features have {features[i].Length} values, the classifier expects {mean.Length}");
            for (var d = 0; d < mean.Length; d++) flat[i * mean.Length + d] = (float)((features[i][d] - mean[d]) / scale[d]);
        }
        return tensor(flat, [features.Count, mean.Length]);
    }
}
