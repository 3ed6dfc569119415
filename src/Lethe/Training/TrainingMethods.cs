using Lethe.Contrastive;
using Lethe.Models;
using Lethe.Supervised;

namespace Lethe.Training;

/// <summary>A kind of learner Lethe trains: its name in settings and checkpoints, its label in reports, and its factory.</summary>
/// <param name="Create">Builds the learner for a recipe and the data's channels, height, width and class count.</param>
public sealed record TrainingMethod(string Name, string DisplayName, bool IsEncoder, string Summary, Func<TrainingSettings, int, int, int, int, Learner> Create);

/// <summary>
/// The registry of training methods. Adding one is a learner file and a line here; validation, the command line's help
/// and the reports read their names from this list.
/// </summary>
public static class TrainingMethods
{
    public static IReadOnlyList<TrainingMethod> All { get; } =
    [
        new("simclr", "SimCLR", true, "contrastive: NT-Xent between two views", (r, c, h, w, _) => new SimClr(r, c, h, w)),
        new("moco", "MoCo", true, "contrastive: InfoNCE against a momentum encoder's queue", (r, c, h, w, _) => new MoCo(r, c, h, w)),
        new("byol", "BYOL", true, "self-supervised: regression onto an EMA target, no negatives", (r, c, h, w, _) => new Byol(r, c, h, w)),
        new("classifier", "classifier", false, "supervised: cross-entropy with the labels", (r, c, h, w, k) => new Classifier(r, c, h, w, k)),
    ];

    public static IEnumerable<string> Names => All.Select(m => m.Name);

    public static IEnumerable<string> EncoderNames => All.Where(m => m.IsEncoder).Select(m => m.Name);

    public static TrainingMethod Get(string name) => All.FirstOrDefault(m => m.Name == name)
        ?? throw new LetheException($"unknown method '{name}': use {string.Join(", ", Names)}");

    public static string DisplayName(string name) => All.FirstOrDefault(m => m.Name == name)?.DisplayName ?? name;
}
