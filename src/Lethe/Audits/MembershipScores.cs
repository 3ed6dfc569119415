using System.Globalization;
using System.IO.Compression;
using System.Text;
using Lethe.Storage;

namespace Lethe.Audits;

/// <summary>The groups an audit scores: forgotten and retained members (training-split ids) and non-members (test-split ids).</summary>
public static class ScoreGroups
{
    public const string Forget = "forget";
    public const string Retain = "retain";
    public const string NonMember = "non-member";

    public static IReadOnlyList<string> All { get; } = [Forget, Retain, NonMember];
}

/// <summary>
/// One attack's per-sample scores on the scored groups (higher means "member"), with the threshold fitted on known
/// samples. Every figure of the attack is computed from these arrays, so the scores file reproduces them.
/// </summary>
/// <param name="Attack">Output and attack, e.g. head/encodermi-threshold or logits/confidence.</param>
public sealed record AttackScores(string Attack, double Threshold, double[] Forget, double[] Retain, double[] NonMembers)
{
    /// <summary>The forget set (or the retained members) against the non-members.</summary>
    public AttackMetrics Metrics(bool forget) => MembershipMetrics.Evaluate(forget ? Forget : Retain, NonMembers, Threshold);

    public double[] Group(string group) => group switch
    {
        ScoreGroups.Forget => Forget,
        ScoreGroups.Retain => Retain,
        ScoreGroups.NonMember => NonMembers,
        _ => throw new ArgumentException($"unknown score group '{group}'"),
    };
}

/// <summary>
/// Every attack's per-sample scores of one audited model. Written beside audit.json as scores.csv (one row per sample
/// and attack: id, group, model, attack, score), so that an auditor can recompute every AUC, TPR and distance of a
/// report with their own tools. Ids index the training split for forget and retain rows, the test split for
/// non-member rows. A path ending in .gz is gzip-compressed.
/// </summary>
public sealed record MembershipScores(string Model, int[] ForgetIds, int[] RetainIds, int[] NonMemberIds, IReadOnlyList<AttackScores> Attacks)
{
    public const string Header = "id,group,model,attack,score";

    public AttackScores this[string attack] =>
        Attacks.FirstOrDefault(a => a.Attack == attack) ?? throw new LetheException($"the scores of {Model} have no attack '{attack}'");

    public bool Has(string attack) => Attacks.Any(a => a.Attack == attack);

    public int[] Ids(string group) => group switch
    {
        ScoreGroups.Forget => ForgetIds,
        ScoreGroups.Retain => RetainIds,
        ScoreGroups.NonMember => NonMemberIds,
        _ => throw new ArgumentException($"unknown score group '{group}'"),
    };

    /// <summary>Builds the scores and checks that every attack scored every sample of every group.</summary>
    public static MembershipScores Create(string model, int[] forget, int[] retain, int[] nonMembers, IReadOnlyList<AttackScores> attacks)
    {
        foreach (var a in attacks)
        {
            if (a.Forget.Length != forget.Length || a.Retain.Length != retain.Length || a.NonMembers.Length != nonMembers.Length)
                throw new ArgumentException($"attack {a.Attack} scored {a.Forget.Length}/{a.Retain.Length}/{a.NonMembers.Length} samples, not {forget.Length}/{retain.Length}/{nonMembers.Length}");
        }
        return new MembershipScores(model, forget, retain, nonMembers, attacks);
    }

    public void Write(string path) => AtomicFile.Write(path, stream =>
    {
        using var compressed = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true) : null;
        using var writer = new StreamWriter(compressed ?? stream, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
        writer.WriteLine(Header);
        var model = Csv(Model);
        foreach (var attack in Attacks)
        {
            foreach (var group in ScoreGroups.All)
            {
                var (ids, scores) = (Ids(group), attack.Group(group));
                for (var i = 0; i < ids.Length; i++)
                    writer.WriteLine($"{ids[i].ToString(CultureInfo.InvariantCulture)},{group},{model},{Csv(attack.Attack)},{scores[i].ToString("R", CultureInfo.InvariantCulture)}");
            }
        }
    });

    /// <summary>Reads a scores file; thresholds are not in it (NaN), the per-sample figures are.</summary>
    public static MembershipScores Read(string path)
    {
        if (!File.Exists(path)) throw new LetheException($"{path}: no such scores file");
        try
        {
            using var file = File.OpenRead(path);
            using var decompressed = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : null;
            using var reader = new StreamReader(decompressed ?? (Stream)file, Encoding.UTF8);
            if (reader.ReadLine() != Header) throw new DataFormatException(path, $"is not a Lethe scores file (its first line is not '{Header}')");
            string? model = null;
            var attacks = new List<string>();
            var rows = new Dictionary<(string Attack, string Group), (List<int> Ids, List<double> Scores)>();
            var number = 1;
            for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
            {
                number++;
                if (line.Length == 0) continue;
                var f = SplitCsv(line);
                if (f.Length != 5 || !int.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var id)
                    || !double.TryParse(f[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var score) || !ScoreGroups.All.Contains(f[1]))
                    throw new DataFormatException(path, $"line {number} is not 'id,group,model,attack,score'");
                if (model is null) model = f[2];
                else if (f[2] != model) throw new DataFormatException(path, $"line {number} scores model '{f[2]}', not '{model}'");
                if (!attacks.Contains(f[3])) attacks.Add(f[3]);
                if (!rows.TryGetValue((f[3], f[1]), out var list)) rows[(f[3], f[1])] = list = ([], []);
                list.Ids.Add(id);
                list.Scores.Add(score);
            }
            if (model is null) throw new DataFormatException(path, "holds no scores");
            int[] IdsOf(string group) => rows.TryGetValue((attacks[0], group), out var l) ? [.. l.Ids] : [];
            var (forget, retain, nonMembers) = (IdsOf(ScoreGroups.Forget), IdsOf(ScoreGroups.Retain), IdsOf(ScoreGroups.NonMember));
            var result = new List<AttackScores>();
            foreach (var attack in attacks)
            {
                double[] Scores(string group, int[] ids)
                {
                    var l = rows.TryGetValue((attack, group), out var found) ? found : ([], []);
                    if (!l.Ids.SequenceEqual(ids)) throw new DataFormatException(path, $"attack {attack} scores other {group} samples than {attacks[0]}");
                    return [.. l.Scores];
                }
                result.Add(new AttackScores(attack, double.NaN, Scores(ScoreGroups.Forget, forget), Scores(ScoreGroups.Retain, retain), Scores(ScoreGroups.NonMember, nonMembers)));
            }
            return new MembershipScores(model, forget, retain, nonMembers, result);
        }
        catch (InvalidDataException)
        {
            throw new DataFormatException(path, "is not a valid gzip file");
        }
    }

    /// <summary>A field, quoted (RFC 4180) when it holds a comma, quote or line break.</summary>
    static string Csv(string text) => text.IndexOfAny([',', '"', '\n', '\r']) < 0 ? text : $"\"{text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    static string[] SplitCsv(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted && c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
            else if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString());
        return [.. fields];
    }
}
