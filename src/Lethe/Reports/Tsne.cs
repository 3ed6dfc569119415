namespace Lethe.Reports;

/// <summary>Settings of a t-SNE embedding (van der Maaten and Hinton, 2008); the defaults are the paper's and scikit-learn's.</summary>
public sealed record TsneSettings
{
    public double Perplexity { get; init; } = 30;

    public int Iterations { get; init; } = 1000;

    public int ExaggerationIterations { get; init; } = 250;

    public double Exaggeration { get; init; } = 12;

    /// <summary>Gradient step; null uses max(n / exaggeration / 4, 50), scikit-learn's "auto".</summary>
    public double? LearningRate { get; init; }

    public long Seed { get; init; }
}

/// <summary>
/// Exact t-SNE into two dimensions: Gaussian affinities whose bandwidths match the perplexity, symmetrised; a
/// Student-t kernel in the embedding; gradient descent with momentum, per-coordinate gains and early exaggeration.
/// O(n^2) per iteration, which suits the few hundred points of an audit. No maintained .NET package offers it.
/// </summary>
public static class Tsne
{
    public static double[][] Embed(IReadOnlyList<float[]> points, TsneSettings? settings = null)
    {
        settings ??= new TsneSettings();
        var n = points.Count;
        if (n < 4) throw new LetheException($"t-SNE needs at least 4 points, not {n}");
        var perplexity = Math.Min(settings.Perplexity, (n - 1) / 3.0);
        var p = JointProbabilities(SquaredDistances(points), perplexity);
        var learningRate = settings.LearningRate ?? Math.Max(n / settings.Exaggeration / 4, 50);

        var y = PrincipalComponents(points, Runtime.Seeds.Random(settings.Seed, "tsne"));
        var velocity = new double[n, 2];
        var gains = new double[n, 2];
        for (var i = 0; i < n; i++) gains[i, 0] = gains[i, 1] = 1;
        var q = new double[n, n];
        var gradient = new double[n, 2];
        for (var iteration = 0; iteration < settings.Iterations; iteration++)
        {
            var exaggeration = iteration < settings.ExaggerationIterations ? settings.Exaggeration : 1;
            var momentum = iteration < settings.ExaggerationIterations ? 0.5 : 0.8;
            // Student-t kernel: q_ij proportional to 1 / (1 + |y_i - y_j|^2).
            double sum = 0;
            for (var i = 0; i < n; i++)
            {
                for (var j = i + 1; j < n; j++)
                {
                    var dx = y[i, 0] - y[j, 0];
                    var dy = y[i, 1] - y[j, 1];
                    var kernel = 1 / (1 + dx * dx + dy * dy);
                    q[i, j] = q[j, i] = kernel;
                    sum += 2 * kernel;
                }
            }
            for (var i = 0; i < n; i++)
            {
                double gx = 0, gy = 0;
                for (var j = 0; j < n; j++)
                {
                    if (i == j) continue;
                    var force = (exaggeration * p[i, j] - q[i, j] / sum) * q[i, j];
                    gx += force * (y[i, 0] - y[j, 0]);
                    gy += force * (y[i, 1] - y[j, 1]);
                }
                gradient[i, 0] = 4 * gx;
                gradient[i, 1] = 4 * gy;
            }
            for (var i = 0; i < n; i++)
            {
                for (var d = 0; d < 2; d++)
                {
                    // Gains grow while the step keeps going downhill (gradient and velocity of opposite signs), shrink when it overshoots.
                    gains[i, d] = gradient[i, d] * velocity[i, d] < 0 ? gains[i, d] + 0.2 : Math.Max(gains[i, d] * 0.8, 0.01);
                    velocity[i, d] = momentum * velocity[i, d] - learningRate * gains[i, d] * gradient[i, d];
                    y[i, d] += velocity[i, d];
                }
            }
            Center(y);
        }
        return [.. Enumerable.Range(0, n).Select(i => new[] { y[i, 0], y[i, 1] })];
    }

    /// <summary>The Kullback-Leibler divergence KL(P || Q) that t-SNE minimises, for an embedding (used by tests).</summary>
    public static double Divergence(IReadOnlyList<float[]> points, double[][] embedding, double perplexity)
    {
        var n = points.Count;
        var p = JointProbabilities(SquaredDistances(points), Math.Min(perplexity, (n - 1) / 3.0));
        double sum = 0;
        var q = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                if (i == j) continue;
                var dx = embedding[i][0] - embedding[j][0];
                var dy = embedding[i][1] - embedding[j][1];
                q[i, j] = 1 / (1 + dx * dx + dy * dy);
                sum += q[i, j];
            }
        }
        double kl = 0;
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                if (i != j && p[i, j] > 1e-12) kl += p[i, j] * Math.Log(p[i, j] / (q[i, j] / sum));
            }
        }
        return kl;
    }

    /// <summary>
    /// Row i of the conditional affinities p_(j|i) with the Gaussian bandwidth found by bisection so that the row's
    /// perplexity 2^H is <paramref name="perplexity"/>; returned for tests of the calibration.
    /// </summary>
    internal static double[] ConditionalRow(double[,] distances, int i, double perplexity)
    {
        var n = distances.GetLength(0);
        var target = Math.Log(perplexity);
        double low = 0, high = double.PositiveInfinity, beta = 1;
        var row = new double[n];
        for (var attempt = 0; attempt < 200; attempt++)
        {
            // Shift by the nearest distance so that exp never underflows to an all-zero row.
            var nearest = double.PositiveInfinity;
            for (var j = 0; j < n; j++)
            {
                if (j != i) nearest = Math.Min(nearest, distances[i, j]);
            }
            double sum = 0, weighted = 0;
            for (var j = 0; j < n; j++)
            {
                row[j] = j == i ? 0 : Math.Exp(-beta * (distances[i, j] - nearest));
                sum += row[j];
                weighted += row[j] * (distances[i, j] - nearest);
            }
            var entropy = Math.Log(sum) + beta * weighted / sum;
            for (var j = 0; j < n; j++) row[j] /= sum;
            var error = entropy - target;
            if (Math.Abs(error) < 1e-6) break;
            if (error > 0)
            {
                low = beta;
                beta = double.IsPositiveInfinity(high) ? beta * 2 : (beta + high) / 2;
            }
            else
            {
                high = beta;
                beta = (beta + low) / 2;
            }
        }
        return row;
    }

    static double[,] JointProbabilities(double[,] distances, double perplexity)
    {
        var n = distances.GetLength(0);
        var conditional = new double[n][];
        for (var i = 0; i < n; i++) conditional[i] = ConditionalRow(distances, i, perplexity);
        var p = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++) p[i, j] = Math.Max((conditional[i][j] + conditional[j][i]) / (2 * n), 1e-12);
        }
        return p;
    }

    internal static double[,] SquaredDistances(IReadOnlyList<float[]> points)
    {
        var n = points.Count;
        var width = points[0].Length;
        if (points.Any(v => v.Length != width)) throw new ArgumentException("t-SNE points must all have the same dimension");
        var distances = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                double s = 0;
                for (var d = 0; d < width; d++)
                {
                    var diff = points[i][d] - (double)points[j][d];
                    s += diff * diff;
                }
                distances[i, j] = distances[j, i] = s;
            }
        }
        return distances;
    }

    static void Center(double[,] y)
    {
        var n = y.GetLength(0);
        for (var d = 0; d < 2; d++)
        {
            double mean = 0;
            for (var i = 0; i < n; i++) mean += y[i, d];
            mean /= n;
            for (var i = 0; i < n; i++) y[i, d] -= mean;
        }
    }

    /// <summary>
    /// The start: the points' first two principal components, scaled so that the first has standard deviation 1e-4
    /// (scikit-learn's default; a PCA start keeps the global layout and spares the stray points a random start leaves).
    /// Found by power iteration on the centred Gram matrix from a seeded start vector.
    /// </summary>
    static double[,] PrincipalComponents(IReadOnlyList<float[]> points, Random random)
    {
        var n = points.Count;
        var width = points[0].Length;
        var mean = new double[width];
        foreach (var p in points)
        {
            for (var d = 0; d < width; d++) mean[d] += p[d] / (double)n;
        }
        var gram = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = i; j < n; j++)
            {
                double s = 0;
                for (var d = 0; d < width; d++) s += (points[i][d] - mean[d]) * (points[j][d] - mean[d]);
                gram[i, j] = gram[j, i] = s;
            }
        }
        var y = new double[n, 2];
        for (var component = 0; component < 2; component++)
        {
            var v = Enumerable.Range(0, n).Select(_ => random.NextDouble() - 0.5).ToArray();
            double eigenvalue = 0;
            for (var iteration = 0; iteration < 300; iteration++)
            {
                var next = new double[n];
                for (var i = 0; i < n; i++)
                {
                    double s = 0;
                    for (var j = 0; j < n; j++) s += gram[i, j] * v[j];
                    next[i] = s;
                }
                var norm = Math.Sqrt(next.Sum(x => x * x));
                if (norm < 1e-300) break; // no variance left in this direction
                eigenvalue = norm;
                v = [.. next.Select(x => x / norm)];
            }
            for (var i = 0; i < n; i++) y[i, component] = v[i] * Math.Sqrt(eigenvalue);
            // Deflate so that the next power iteration finds the second component.
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++) gram[i, j] -= eigenvalue * v[i] * v[j];
            }
        }
        var first = Enumerable.Range(0, n).Select(i => y[i, 0]).ToArray();
        var sd = Math.Sqrt(first.Sum(x => x * x) / n - Math.Pow(first.Average(), 2));
        var scale = sd > 1e-300 ? 1e-4 / sd : 1;
        for (var i = 0; i < n; i++)
        {
            // A tiny seeded jitter separates identical points, which PCA would leave on top of each other.
            y[i, 0] = y[i, 0] * scale + 1e-8 * (random.NextDouble() - 0.5);
            y[i, 1] = y[i, 1] * scale + 1e-8 * (random.NextDouble() - 0.5);
        }
        return y;
    }
}
