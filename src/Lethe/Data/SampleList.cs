namespace Lethe.Data;

/// <summary>
/// A file that names samples, one per line: a path relative to an image folder's root (as `lethe data info` lists it),
/// or, for the fixed formats, an index into the training split. Blank lines and text after '#' are ignored. Every
/// problem is reported with the file and line: a line that names no sample, names a sample of the wrong kind, or
/// repeats an earlier line.
/// </summary>
public static class SampleList
{
    /// <summary>The members to forget: each line must name a member of <paramref name="members"/>.</summary>
    public static List<int> ReadForget(string path, Dataset data, IReadOnlyCollection<int> members)
    {
        var memberSet = members as ISet<int> ?? new HashSet<int>(members);
        return Read(path, data, (id, index) => memberSet.Contains(index) ? null
            : $"'{id}' is a training sample but not a member, so there is nothing to forget");
    }

    /// <summary>The members a model was trained on: each line must name a sample of the training split.</summary>
    public static List<int> ReadMembers(string path, Dataset data) => Read(path, data, (_, _) => null);

    static List<int> Read(string path, Dataset data, Func<string, int, string?> check)
    {
        if (!File.Exists(path)) throw new LetheException($"sample list not found: {path}");
        var lines = File.ReadAllLines(path);
        var seen = new Dictionary<int, int>();
        var result = new List<int>();
        for (var n = 0; n < lines.Length; n++)
        {
            var id = lines[n].Split('#')[0].Trim();
            if (id.Length == 0) continue;
            var where = $"{path} line {n + 1}";
            var name = Normalise(id);
            if (!data.Train.TryFind(name, out var index))
            {
                if (data.Test.HasNamedIds && data.Test.TryFind(name, out _))
                    throw new LetheException($"{where}: '{id}' is a test-split sample: a non-member, never trained on");
                throw new LetheException(data.Train.HasNamedIds
                    ? $"{where}: '{id}' names no image of the training split of {data.Directory}"
                    : $"{where}: '{id}' is not a sample id: {data.Name}'s training split has ids 0..{data.Train.Count - 1}");
            }
            if (seen.TryGetValue(index, out var first)) throw new LetheException($"{where}: '{id}' repeats line {first}");
            if (check(id, index) is { } problem) throw new LetheException($"{where}: {problem}");
            seen[index] = n + 1;
            result.Add(index);
        }
        if (result.Count == 0) throw new LetheException($"{path}: names no samples");
        return result;
    }

    /// <summary>Paths may be written with '\' or a leading './'.</summary>
    static string Normalise(string id)
    {
        var path = id.Replace('\\', '/');
        while (path.StartsWith("./", StringComparison.Ordinal)) path = path[2..];
        return path;
    }
}
