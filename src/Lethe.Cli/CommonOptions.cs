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

    public static RuntimeSettings Runtime(ParseResult parse) => new(parse.GetValue(Device) ?? "cpu", parse.GetValue(Threads));
}
