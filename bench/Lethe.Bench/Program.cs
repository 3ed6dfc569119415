using System.Diagnostics;
using System.Runtime.InteropServices;
using Lethe.Contrastive;
using Lethe.Data;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using static TorchSharp.torch;

// Lethe benchmarks: prints throughput figures and writes them, with the machine's description, to a JSON file.
// Usage: dotnet run -c Release --project bench/Lethe.Bench [-- --out bench/results/latest.json --threads N]
// One case of the side-by-side bench against PyTorch (bench/side-by-side.sh): --case NAME [--threads N --warmup S --seconds S --min-steps K].
if (Array.IndexOf(args, "--case") is var at and >= 0 && at + 1 < args.Length)
{
    string Value(string flag, string fallback) => Array.IndexOf(args, flag) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    return SideBySide.Run(args[at + 1], int.Parse(Value("--threads", "2"), System.Globalization.CultureInfo.InvariantCulture),
        SideBySide.Parse(Value("--warmup", "3")), SideBySide.Parse(Value("--seconds", "10")),
        int.Parse(Value("--min-steps", "1"), System.Globalization.CultureInfo.InvariantCulture));
}

var outPath = "bench/results/latest.json";
var threads = 0;
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--out") outPath = args[i + 1];
    if (args[i] == "--threads") threads = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
}
TorchRuntime.Initialize(new RuntimeSettings(Threads: threads));
var results = new List<BenchResult>();

if (Directory.Exists("/usr/share/datasets/fashion-mnist"))
{
    var watch = Stopwatch.StartNew();
    var data = Datasets.Load(DatasetKind.FashionMnist);
    watch.Stop();
    results.Add(new("load fashion-mnist (70,000 images, gzip IDX)", "images/s", (data.Train.Count + data.Test.Count) / watch.Elapsed.TotalSeconds));
    results.Add(Measure("batch to tensor, 256 x 1 x 28 x 28", 256, () =>
    {
        var ids = Enumerable.Range(0, 256).ToArray();
        data.Train.Batch(ids).Dispose();
    }));
}

foreach (var (channels, size) in new[] { (1, 28), (3, 32) })
{
    foreach (var (name, settings) in new[] { ("standard", AugmentationSettings.Standard), ("weak", AugmentationSettings.Weak) })
    {
        using var images = rand(256, channels, size, size);
        var augment = new ContrastiveAugmentation(settings);
        using var generator = new Generator(1);
        results.Add(Measure($"augment ({name}), 256 x {channels} x {size} x {size}", 256, () => augment.Apply(images, generator).Dispose()));
    }
}

// Training steps (two augmented views, loss, backward, optimizer, momentum updates) at the presets' sizes.
foreach (var (preset, channels, size, batch) in new[] { ("overfit", 1, 28, 64), ("paper", 3, 32, 32) })
{
    foreach (var method in new[] { "simclr", "moco", "byol" })
    {
        var settings = TrainingPresets.Get(preset, method) with { BatchSize = batch };
        manual_seed(1);
        var model = TrainingMethods.Get(method).Create(settings, channels, size, size, 10);
        model.train();
        var optimizer = FusedAdam.Create(model.TrainableParameters(), settings.LearningRate);
        using var images = rand(batch, channels, size, size);
        using var labels = zeros(batch, ScalarType.Int64);
        using var generator = new Generator(1);
        results.Add(Measure($"{method} step ({preset}: {settings.Encoder.Architecture} w{settings.Encoder.Width}), batch {batch} x {channels}x{size}x{size}", batch, () =>
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            model.TrainingLoss(images, labels, generator).Loss.backward();
            optimizer.step();
            model.AfterStep(0.5);
        }, warmup: preset == "paper" ? 1 : 3));
    }
}

var report = new BenchReport(
    DateTimeOffset.UtcNow,
    new MachineInfo(Environment.ProcessorCount, get_num_threads(), RuntimeInformation.OSDescription,
        RuntimeInformation.ProcessArchitecture.ToString(), RuntimeInformation.FrameworkDescription,
        GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 20)),
    results);
Console.WriteLine($"{"benchmark",-72} {"value",10}  unit");
foreach (var r in results) Console.WriteLine($"{r.Name,-72} {r.Value,10:N0}  {r.Unit}");
LetheJson.WriteFile(outPath, report);
Console.WriteLine($"wrote {Path.GetFullPath(outPath)}");
return 0;

// Warm up, then time repeated runs for at least two seconds.
static BenchResult Measure(string name, int imagesPerRun, Action run, int warmup = 3)
{
    for (var i = 0; i < warmup; i++) run();
    var watch = Stopwatch.StartNew();
    var runs = 0;
    while (watch.Elapsed.TotalSeconds < 2)
    {
        run();
        runs++;
    }
    return new(name, "images/s", runs * imagesPerRun / watch.Elapsed.TotalSeconds);
}

record BenchResult(string Name, string Unit, double Value);

record MachineInfo(int Cores, int TorchThreads, string Os, string Architecture, string Runtime, long MemoryMiB);

record BenchReport(DateTimeOffset Date, MachineInfo Machine, List<BenchResult> Results);
