using System.CommandLine;
using Lethe.Data;
using Lethe.Runtime;

namespace Lethe.Cli;

/// <summary>Options that several commands share.</summary>
public static class CommonOptions
{
    public static readonly Option<string> Device = new("--device")
    {
        Description = "Where tensors live: cpu, cuda or cuda:N (cuda needs a CUDA libtorch)",
        DefaultValueFactory = _ => "cpu",
        Recursive = true,
    };

    public static readonly Option<int> Threads = new("--threads")
    {
        Description = "Threads libtorch may use; 0 uses all cores",
        DefaultValueFactory = _ => 0,
        Recursive = true,
    };

    public static Option<string> Dataset() => new("--dataset", "-d")
    {
        Description = $"Data set: {string.Join(", ", Datasets.Names)}",
        DefaultValueFactory = _ => Datasets.DefaultName,
    };

    public static Option<string?> DataDir() => new("--data-dir")
    {
        Description = "Folder holding the data set's files (default: its Debian package's folder, where there is one)",
    };

    /// <summary>A sample list to forget: one id (an image folder's relative path, or an index) per line.</summary>
    public static Option<string?> ForgetList() => new("--forget-list")
    {
        Description = "File naming the samples to forget, one per line: a path relative to the image folder (as `lethe data info --ids` lists it) or an index",
    };

    /// <summary>The split with the forget set of --forget-list or --forget-ids, when one is given.</summary>
    public static MembershipSplit WithForget(MembershipSplit split, Dataset data, string? forgetList, string? forgetIds) => (forgetList, forgetIds) switch
    {
        ({ } list, null) => split.WithForgetList(list, data),
        (null, { } ids) => split.WithForgetFile(ids),
        (null, null) => split,
        _ => throw new LetheException("give --forget-list or --forget-ids, not both"),
    };

    /// <summary>The run a reference trains for (--retrain-of or --shadow-of) and the part of its split it trains on, or null.</summary>
    public static (string Run, string TrainOn)? Reference(string? retrainOf, string? shadowOf) => (retrainOf, shadowOf) switch
    {
        ({ } r, null) => (r, "retain"),
        (null, { } r) => (r, "shadow"),
        (null, null) => null,
        _ => throw new LetheException("give --retrain-of or --shadow-of, not both"),
    };

    /// <summary>Where a run is written: --out, else RUN/retrain or RUN/shadow for a reference, else the command's default.</summary>
    public static string RunFolder(string? output, (string Run, string TrainOn)? reference, string fallback) =>
        output ?? (reference is { } r ? Path.Combine(r.Run, r.TrainOn == "retain" ? "retrain" : "shadow") : fallback);

    /// <summary>A reference's seed: a retrain shares the target's (it is what unlearning should imitate); a shadow model draws its own.</summary>
    public static long ReferenceSeed(long targetSeed, string trainOn) => trainOn == "shadow" ? Seeds.Derive(targetSeed, "shadow") : targetSeed;

    /// <summary>How an image folder is read; the options apply when --dataset folder.</summary>
    public sealed class FolderOptionSet
    {
        static readonly FolderOptions Defaults = new();

        public Option<int?> ImageSize { get; } = new("--image-size") { Description = $"Image folder: images are made N x N (centred square, scaled; default {Defaults.ImageSize})" };

        public Option<int?> Channels { get; } = new("--channels") { Description = $"Image folder: 1 (grey) or 3 (RGB) channels (default {Defaults.Channels})" };

        public Option<string?> TestDir { get; } = new("--test-dir") { Description = "Image folder: a second folder of the same classes whose images are the non-members (the test split)" };

        public Option<double?> TestFraction { get; } = new("--test-fraction") { Description = $"Image folder without --test-dir: share of its images in the test split, chosen by a hash of each path (default {Defaults.TestFraction})" };

        public Option<bool> SkipBad { get; } = new("--skip-bad") { Description = "Image folder: skip files that do not decode (and say how many) instead of stopping at the first" };

        public IEnumerable<Option> All => [ImageSize, Channels, TestDir, TestFraction, SkipBad];

        /// <summary>The folder options for <paramref name="dataset"/> (null unless it is the folder data set), its root made absolute.</summary>
        public FolderOptions? Read(ParseResult parse, string dataset, string? dataDir)
        {
            if (Datasets.Parse(dataset) != DatasetKind.Folder)
            {
                if (All.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } given)
                    throw new LetheException($"{given.Name} applies to --dataset folder only");
                return null;
            }
            if (dataDir is null) throw new LetheException("--dataset folder needs --data-dir: a folder with one sub-folder of images per class");
            var options = new FolderOptions
            {
                Root = Path.GetFullPath(dataDir),
                TestRoot = parse.GetValue(TestDir) is { } t ? Path.GetFullPath(t) : null,
                TestFraction = parse.GetValue(TestFraction) ?? Defaults.TestFraction,
                ImageSize = parse.GetValue(ImageSize) ?? Defaults.ImageSize,
                Channels = parse.GetValue(Channels) ?? Defaults.Channels,
                SkipBad = parse.GetValue(SkipBad),
            };
            if (options.TestRoot is not null && parse.GetResult(TestFraction) is { Implicit: false })
                throw new LetheException("give --test-dir or --test-fraction, not both");
            options.Validate();
            return options;
        }
    }

    public static RuntimeSettings Runtime(ParseResult parse) => new(parse.GetValue(Device) ?? "cpu", parse.GetValue(Threads));
}
