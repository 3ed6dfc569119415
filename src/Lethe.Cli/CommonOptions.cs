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

    public static RuntimeSettings Runtime(ParseResult parse) => new(parse.GetValue(Device) ?? "cpu", parse.GetValue(Threads));
}
