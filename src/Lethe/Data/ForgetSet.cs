using System.Globalization;
using System.Text.Json;

namespace Lethe.Data;

/// <summary>
/// The members to forget, as ids into the training split. Read from a file of ids (whitespace-,
/// comma- or line-separated, '#' starts a comment) or a JSON array, and checked against the members.
/// </summary>
public sealed class ForgetSet
{
    ForgetSet(int[] ids) => Ids = ids;

    /// <summary>Ids into the training split, in ascending order.</summary>
    public IReadOnlyList<int> Ids { get; }

    public int Count => Ids.Count;

    /// <summary>Checks the ids: each in range, none twice, each a member. Throws a one-line error naming the first bad id.</summary>
    public static ForgetSet Create(IEnumerable<int> ids, int trainCount, IReadOnlyCollection<int> members, string source = "forget set")
    {
        var memberSet = members as ISet<int> ?? new HashSet<int>(members);
        var seen = new HashSet<int>();
        foreach (var id in ids)
        {
            if (id < 0 || id >= trainCount)
                throw new LetheException($"{source}: id {id} is out of range: the training split has ids 0..{trainCount - 1}");
            if (!seen.Add(id)) throw new LetheException($"{source}: id {id} is listed more than once");
            if (!memberSet.Contains(id)) throw new LetheException($"{source}: id {id} is not a member of the split, so there is nothing to forget");
        }
        if (seen.Count == 0) throw new LetheException($"{source}: no ids to forget");
        if (seen.Count == memberSet.Count) throw new LetheException($"{source}: forgets every member, leaving no retain set");
        var sorted = seen.ToArray();
        Array.Sort(sorted);
        return new ForgetSet(sorted);
    }

    /// <summary>Reads ids from a text or JSON file (see the class summary) and checks them.</summary>
    public static ForgetSet Load(string path, int trainCount, IReadOnlyCollection<int> members)
    {
        if (!File.Exists(path)) throw new LetheException($"forget-id file not found: {path}");
        return Create(ParseIds(File.ReadAllText(path), path), trainCount, members, path);
    }

    /// <summary>Parses ids from text: a JSON array of integers, or integers separated by spaces, commas or lines.</summary>
    public static List<int> ParseIds(string text, string source)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('['))
        {
            try
            {
                return JsonSerializer.Deserialize<List<int>>(trimmed) ?? [];
            }
            catch (JsonException e)
            {
                throw new LetheException($"{source}: not a JSON array of integer ids ({e.Message.Split('\n')[0]})");
            }
        }
        var ids = new List<int>();
        var lines = text.Split('\n');
        for (var line = 0; line < lines.Length; line++)
        {
            var content = lines[line].Split('#')[0];
            foreach (var token in content.Split([' ', '\t', ',', ';', '\r'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (!int.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
                    throw new LetheException($"{source}: line {line + 1}: '{token}' is not an integer id");
                ids.Add(id);
            }
        }
        return ids;
    }
}
