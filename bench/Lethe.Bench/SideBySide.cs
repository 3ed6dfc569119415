using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Lethe.Losses;
using Lethe.Training;
using static TorchSharp.torch;

/// <summary>
/// The Lethe side of the side-by-side bench (bench/side-by-side.sh; the PyTorch side is bench/pytorch/bench.py): one case,
/// the same architecture, inputs, warm-up and run length as the PyTorch script, one JSON line out.
/// </summary>
static class SideBySide
{
    /// <summary>name: (preset, batch, channels, size, kind); the model, temperature and learning rate are the preset's.</summary>
    static readonly Dictionary<string, (string Preset, int Batch, int Channels, int Size, string Kind)> Cases = new()
    {
        ["simclr-step-small-cnn"] = ("overfit", 64, 1, 28, "step"),
        ["memgp-step-small-cnn"] = ("overfit", 64, 1, 28, "memgp"),
        ["simclr-step-resnet18-b32"] = ("paper", 32, 3, 32, "step"),
        ["simclr-step-resnet18-b128"] = ("paper", 128, 3, 32, "step"),
        ["inference-resnet18-b256"] = ("paper", 256, 3, 32, "inference"),
        ["inference-small-cnn-b256"] = ("overfit", 256, 1, 28, "inference"),
        // Lethe only (not in side-by-side.sh): the demo's MoCo step without augmentation, the pure step its pretraining is
        // compared with (docs/performance.md, the demo's stages).
        ["moco-step-small-cnn"] = ("overfit", 64, 1, 28, "moco"),
    };

    public static int Run(string name, int threads, double warmup, double seconds, int minSteps = 1)
    {
        if (!Cases.TryGetValue(name, out var c))
        {
            Console.Error.WriteLine($"unknown case '{name}': {string.Join(", ", Cases.Keys)}");
            return 1;
        }
        Lethe.Runtime.TorchRuntime.Initialize(new Lethe.Runtime.RuntimeSettings(Threads: threads));
        manual_seed(1);
        var method = c.Kind == "moco" ? "moco" : "simclr";
        var settings = TrainingPresets.Get(c.Preset, method);
        using var model = TrainingMethods.Get(method).Create(settings, c.Channels, c.Size, c.Size, 10);
        using var v1 = rand(c.Batch, c.Channels, c.Size, c.Size);
        using var v2 = rand(c.Batch, c.Channels, c.Size, c.Size);
        var optimizer = FusedAdam.Create(model.TrainableParameters(), settings.LearningRate);
        Tensor Head(Tensor x) => model.Output(x, "head");

        void Step()
        {
            using var scope = NewDisposeScope();
            if (c.Kind == "inference")
            {
                using var noGrad = no_grad();
                Head(v1);
                return;
            }
            optimizer.zero_grad();
            if (c.Kind == "moco")
            {
                ((Lethe.Contrastive.ContrastiveLearner)model).Loss(v1, v2).backward();
                optimizer.step();
                model.AfterStep(0.5);
                return;
            }
            var loss = NtXent.Loss(Head(v1), Head(v2), settings.Temperature);
            if (c.Kind == "memgp") loss += GradientPenalty.AtSamples(Head, v1);
            loss.backward();
            optimizer.step();
        }

        model.train(c.Kind != "inference");
        // Inference runs as the audits run it, batch norm folded into the convolutions (LETHE_BN_FOLD=0: unfolded).
        using var fold = c.Kind == "inference" ? model.FoldBatchNorm() : null;
        var watch = Stopwatch.StartNew();
        Step();
        while (watch.Elapsed.TotalSeconds < warmup) Step();
        var steps = 0;
        watch.Restart();
        do
        {
            Step();
            steps++;
        }
        while (watch.Elapsed.TotalSeconds < seconds || steps < minSteps);
        var elapsed = watch.Elapsed.TotalSeconds;
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["framework"] = "lethe",
            ["version"] = $"TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3)}",
            ["case"] = name,
            ["threads"] = get_num_threads(),
            ["batch"] = c.Batch,
            ["steps"] = steps,
            ["seconds"] = Math.Round(elapsed, 3),
            ["images_per_second"] = Math.Round(steps * c.Batch / elapsed, 1),
        }));
        return 0;
    }

    public static double Parse(string text) => double.Parse(text, CultureInfo.InvariantCulture);
}
