using System.Reflection;
using System.Text.Json;
using Lethe.Storage;

namespace Lethe.Unlearning;

/// <summary>One method's tuned step size and epochs for one model kind, and how close it came to retraining on the tuning seeds.</summary>
/// <param name="Kind">encoder or classifier.</param>
/// <param name="Distance">The tuning criterion's value (docs/tuning.md): lower is closer to the retrained model.</param>
public sealed record TunedMethod(string Kind, string Method, double LearningRate, int Epochs, double Distance, int Candidates);

/// <summary>
/// Unlearning defaults chosen by `lethe tune` on tuning seeds only (docs/tuning.md): for each method and model kind the
/// learning rate and epochs whose unlearned model came closest to the retrained one. `lethe reproduce`, `lethe demo`
/// and `lethe unlearn` start from these; reproduce refuses a file tuned on one of the seeds it reports.
/// </summary>
public sealed record TunedDefaults
{
    public const string FormatName = "lethe-tuned-defaults";
    public const int FormatVersion = 1;

    /// <summary>The built-in file, tuned at the small scale (src/Lethe/Unlearning/tuned-defaults.json).</summary>
    const string ResourceName = "Lethe.Unlearning.tuned-defaults.json";

    public string Format { get; init; } = FormatName;

    public int Version { get; init; } = FormatVersion;

    /// <summary>The reproduce scale the tuning ran at, and its data set and encoder method.</summary>
    public required string Scale { get; init; }

    public required string Dataset { get; init; }

    public required string EncoderMethod { get; init; }

    public required IReadOnlyList<long> TuningSeeds { get; init; }

    public required string Criterion { get; init; }

    public required IReadOnlyList<TunedMethod> Methods { get; init; }

    public static string Kind(bool classifier) => classifier ? "classifier" : "encoder";

    /// <summary>The settings with the tuned learning rate and epochs of their method, where this file has them.</summary>
    public UnlearningSettings Apply(UnlearningSettings settings, bool classifier) =>
        Methods.FirstOrDefault(m => m.Kind == Kind(classifier) && m.Method == settings.Method) is { } tuned
            ? settings with { LearningRate = tuned.LearningRate, Epochs = tuned.Epochs }
            : settings;

    /// <summary>Refuses report seeds that the tuning saw.</summary>
    public void CheckDisjoint(IEnumerable<long> reportSeeds, string source)
    {
        var shared = reportSeeds.Intersect(TuningSeeds).ToArray();
        if (shared.Length > 0)
            throw new LetheException($"{source} was tuned on seed {string.Join(", ", shared)}, which this run would report: report on other seeds (--seed) or tune on others (lethe tune --seed)");
    }

    public void Save(string path) => LetheJson.WriteFile(path, this);

    public static TunedDefaults Load(string path)
    {
        var tuned = LetheJson.ReadFile<TunedDefaults>(path, "tuned defaults");
        tuned.Check(path);
        return tuned;
    }

    /// <summary>The defaults built into Lethe, or null when none were tuned yet.</summary>
    public static TunedDefaults? BuiltIn { get; } = ReadBuiltIn();

    static TunedDefaults? ReadBuiltIn()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName);
        if (stream is null) return null;
        var tuned = JsonSerializer.Deserialize<TunedDefaults>(stream, LetheJson.Options) ?? throw new InvalidOperationException("the built-in tuned defaults are empty");
        tuned.Check(ResourceName);
        return tuned;
    }

    void Check(string source)
    {
        if (Format != FormatName) throw new DataFormatException(source, $"is not a Lethe tuned-defaults file (format '{Format}')");
        if (Version != FormatVersion) throw new DataFormatException(source, $"tuned-defaults version {Version} is not supported (this Lethe reads {FormatVersion})");
        if (TuningSeeds is not { Count: > 0 }) throw new DataFormatException(source, "names no tuning seed");
        foreach (var m in Methods ?? throw new DataFormatException(source, "'methods' is missing"))
        {
            UnlearningMethods.Get(m.Method);
            if (m.Kind is not ("encoder" or "classifier")) throw new DataFormatException(source, $"unknown model kind '{m.Kind}'");
            if (!(m.LearningRate > 0) || m.Epochs < 1) throw new DataFormatException(source, $"{m.Kind} {m.Method}: learning rate and epochs must be positive");
        }
    }
}
