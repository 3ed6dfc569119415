using System.Text.Json.Serialization;
using Lethe.Runtime;
using Lethe.Storage;

namespace Lethe.Data;

/// <summary>
/// How to draw a membership split. Members come from the training split, non-members from the
/// test split (the paper's protocol); shadow members and shadow non-members, for attacks that
/// train on data they know, come from what is left of the training split. Null shadow sizes
/// mean "as many as the members" and "as many as the non-members".
/// </summary>
public sealed record SplitSettings
{
    public int Members { get; init; } = 10_000;

    public int NonMembers { get; init; } = 10_000;

    /// <summary>Fraction of the members to forget, when no explicit forget-id file is given.</summary>
    public double ForgetFraction { get; init; } = 0.2;

    public int? ShadowMembers { get; init; }

    public int? ShadowNonMembers { get; init; }

    public long Seed { get; init; }
}

/// <summary>
/// A membership split, saved as a JSON manifest: members, forget and retain sets and both shadow sets
/// index the training split; non-members index the test split. Ids are sorted.
/// </summary>
public sealed record MembershipSplit
{
    public const string FormatName = "lethe-split";
    public const int FormatVersion = 1;

    public string Format { get; init; } = FormatName;

    public int Version { get; init; } = FormatVersion;

    public required string Dataset { get; init; }

    public required int TrainCount { get; init; }

    public required int TestCount { get; init; }

    public required SplitSettings Settings { get; init; }

    /// <summary>Where the forget set came from: "fraction" or the path of an id file.</summary>
    public required string ForgetSource { get; init; }

    public required int[] Members { get; init; }

    public required int[] Forget { get; init; }

    public required int[] Retain { get; init; }

    public required int[] NonMembers { get; init; }

    public required int[] ShadowMembers { get; init; }

    public required int[] ShadowNonMembers { get; init; }

    /// <summary>
    /// For data sets whose samples are named (image folders): a hash of every id and label of both splits, so that a split
    /// never silently indexes a folder whose files changed. Null for the fixed formats (left out of the JSON).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Fingerprint { get; init; }

    /// <summary>The fingerprint of a data set's sample ids (null when they are indices).</summary>
    public static string? FingerprintOf(Dataset data) =>
        data.Train.Fingerprint() is { } train ? $"{train[..32]}{data.Test.Fingerprint()![..32]}" : null;

    /// <summary>Draws a split of <paramref name="data"/> (see the other overload), bound to its sample ids.</summary>
    public static MembershipSplit Create(SplitSettings settings, Dataset data, string? forgetIdsFile = null) =>
        Create(settings, data.Name, data.Train.Count, data.Test.Count, forgetIdsFile) with { Fingerprint = FingerprintOf(data) };

    /// <summary>Draws a split from the settings' seed. With <paramref name="forgetIdsFile"/>, its ids are the forget set.</summary>
    public static MembershipSplit Create(SplitSettings settings, string dataset, int trainCount, int testCount, string? forgetIdsFile = null)
    {
        var shadowMembers = settings.ShadowMembers ?? settings.Members;
        var shadowNonMembers = settings.ShadowNonMembers ?? settings.NonMembers;
        if (settings.Members < 2) throw new LetheException($"members must be at least 2, not {settings.Members}");
        if (settings.NonMembers < 1) throw new LetheException($"non-members must be at least 1, not {settings.NonMembers}");
        if (shadowMembers < 0 || shadowNonMembers < 0) throw new LetheException("shadow set sizes cannot be negative");
        if ((long)settings.Members + shadowMembers + shadowNonMembers > trainCount)
            throw new LetheException(
                $"{dataset}'s training split has {trainCount} samples, fewer than {settings.Members} members + " +
                $"{shadowMembers} shadow members + {shadowNonMembers} shadow non-members: lower --members or the shadow sizes");
        if (settings.NonMembers > testCount)
            throw new LetheException($"{dataset}'s test split has {testCount} samples, fewer than the {settings.NonMembers} non-members asked for");

        var train = Permutation(trainCount, Seeds.Random(settings.Seed, "split/train"));
        var test = Permutation(testCount, Seeds.Random(settings.Seed, "split/test"));
        var members = Sorted(train.AsSpan(0, settings.Members));
        var shadowMemberIds = Sorted(train.AsSpan(settings.Members, shadowMembers));
        var shadowNonMemberIds = Sorted(train.AsSpan(settings.Members + shadowMembers, shadowNonMembers));
        var nonMembers = Sorted(test.AsSpan(0, settings.NonMembers));

        ForgetSet forget;
        if (forgetIdsFile is not null)
        {
            forget = ForgetSet.Load(forgetIdsFile, trainCount, members);
        }
        else
        {
            forget = ForgetSet.Create(DrawForget(settings, members), trainCount, members, "forget fraction");
        }

        var split = new MembershipSplit
        {
            Dataset = dataset,
            TrainCount = trainCount,
            TestCount = testCount,
            Settings = settings with { ShadowMembers = shadowMembers, ShadowNonMembers = shadowNonMembers },
            ForgetSource = forgetIdsFile is null ? "fraction" : Path.GetFullPath(forgetIdsFile),
            Members = members,
            Forget = [.. forget.Ids],
            Retain = members.Except(forget.Ids).ToArray(),
            NonMembers = nonMembers,
            ShadowMembers = shadowMemberIds,
            ShadowNonMembers = shadowNonMemberIds,
        };
        split.Validate("new split");
        return split;
    }

    /// <summary>
    /// A split around members that are already given (the samples an imported model was trained on): non-members drawn
    /// from the test split (at most four fifths of it, the rest being the audits' reference images), shadow members and shadow non-members from the
    /// training samples that are not members (half each, at most as many as the members and non-members), and the
    /// forget set drawn by the settings' fraction unless <paramref name="forgetList"/> names it.
    /// </summary>
    public static MembershipSplit FromMembers(SplitSettings settings, Dataset data, IReadOnlyList<int> givenMembers, string membersSource, string? forgetList = null)
    {
        var members = givenMembers.Order().ToArray();
        if (members.Length < 2) throw new LetheException($"{membersSource}: at least 2 members are needed, not {members.Length}");
        var memberSet = members.ToHashSet();
        var test = Permutation(data.Test.Count, Seeds.Random(settings.Seed, "split/test"));
        // A fifth of the test split (at least one image) stays out of the non-members: the audits' reference negatives.
        if (data.Test.Count < 3) throw new LetheException($"the test split has {data.Test.Count} images: at least 3 are needed (non-members and reference images)");
        var nonMembers = Sorted(test.AsSpan(0, Math.Min(settings.NonMembers, data.Test.Count - Math.Max(1, data.Test.Count / 5))));
        var rest = Permutation(data.Train.Count, Seeds.Random(settings.Seed, "split/train")).Where(i => !memberSet.Contains(i)).ToArray();
        var shadowMembers = Math.Min(rest.Length / 2, members.Length);
        var shadowNonMembers = Math.Min(rest.Length - shadowMembers, nonMembers.Length);
        var forget = DrawForget(settings, members).Order().ToArray();
        var split = new MembershipSplit
        {
            Dataset = data.Name,
            TrainCount = data.Train.Count,
            TestCount = data.Test.Count,
            Settings = settings with { Members = members.Length, NonMembers = nonMembers.Length, ShadowMembers = shadowMembers, ShadowNonMembers = shadowNonMembers },
            ForgetSource = "fraction",
            Members = members,
            Forget = forget,
            Retain = members.Except(forget).ToArray(),
            NonMembers = nonMembers,
            ShadowMembers = Sorted(rest.AsSpan(0, shadowMembers)),
            ShadowNonMembers = Sorted(rest.AsSpan(shadowMembers, shadowNonMembers)),
            Fingerprint = FingerprintOf(data),
        };
        split.Validate(membersSource);
        return forgetList is null ? split : split.WithForgetList(forgetList, data);
    }

    /// <summary>The same split with a different forget set (checked against the members).</summary>
    public MembershipSplit WithForget(ForgetSet forget, string source)
    {
        var split = this with
        {
            ForgetSource = source,
            Forget = [.. forget.Ids],
            Retain = Members.Except(forget.Ids).ToArray(),
        };
        split.Validate(source);
        return split;
    }

    /// <summary>The same split with the forget set read from an id file (one training-split id per line).</summary>
    public MembershipSplit WithForgetFile(string path) => WithForget(ForgetSet.Load(path, TrainCount, Members), path);

    /// <summary>The same split with the forget set read from a forget list: one sample id (a path, or an index) per line.</summary>
    public MembershipSplit WithForgetList(string path, Dataset data) =>
        WithForget(ForgetSet.Create(SampleList.ReadForget(path, data, Members), TrainCount, Members, path), Path.GetFullPath(path));

    /// <summary>The ids a run trains on: members (the target), retain (the retrain-from-scratch reference) or shadow (shadow members).</summary>
    public IReadOnlyList<int> TrainingIds(string trainOn) => trainOn switch
    {
        "members" => Members,
        "retain" => Retain,
        "shadow" => ShadowMembers,
        _ => throw new LetheException($"unknown training set '{trainOn}': use members, retain or shadow"),
    };

    public void Save(string path) => LetheJson.WriteFile(path, this);

    /// <summary>Reads and checks a manifest; with <paramref name="dataset"/>, also that it was made for that data set's sizes.</summary>
    public static MembershipSplit Load(string path, Dataset? dataset = null)
    {
        var split = LetheJson.ReadFile<MembershipSplit>(path, "split manifest");
        if (split.Format != FormatName) throw new DataFormatException(path, $"is not a Lethe split manifest (format '{split.Format}')");
        if (split.Version != FormatVersion) throw new DataFormatException(path, $"split manifest version {split.Version} is not supported (this Lethe reads {FormatVersion})");
        split.Validate(path);
        if (dataset is not null && (split.Dataset != dataset.Name || split.TrainCount != dataset.Train.Count || split.TestCount != dataset.Test.Count))
            throw new LetheException(
                $"{path}: the split was made for {split.Dataset} ({split.TrainCount} train / {split.TestCount} test), " +
                $"not for {dataset.Name} ({dataset.Train.Count} / {dataset.Test.Count})");
        if (dataset is not null && split.Fingerprint is not null && split.Fingerprint != FingerprintOf(dataset))
            throw new LetheException($"{path}: the split was made for other files of {dataset.Directory} (their names or classes changed since): draw a new split");
        return split;
    }

    /// <summary>Checks ranges, duplicates and the disjointness the protocol needs.</summary>
    public void Validate(string source)
    {
        void CheckIds(string name, int[]? ids, int limit, string splitName)
        {
            if (ids is null) throw new DataFormatException(source, $"'{name}' is missing");
            var seen = new HashSet<int>();
            foreach (var id in ids)
            {
                if (id < 0 || id >= limit) throw new DataFormatException(source, $"'{name}' holds id {id}, outside the {splitName} split's 0..{limit - 1}");
                if (!seen.Add(id)) throw new DataFormatException(source, $"'{name}' lists id {id} twice");
            }
        }
        CheckIds("members", Members, TrainCount, "training");
        CheckIds("forget", Forget, TrainCount, "training");
        CheckIds("retain", Retain, TrainCount, "training");
        CheckIds("shadowMembers", ShadowMembers, TrainCount, "training");
        CheckIds("shadowNonMembers", ShadowNonMembers, TrainCount, "training");
        CheckIds("nonMembers", NonMembers, TestCount, "test");

        if (Settings is null) throw new DataFormatException(source, "'settings' is missing");
        var members = Members.ToHashSet();
        if (Forget.Length == 0) throw new DataFormatException(source, "the forget set is empty");
        if (Retain.Length == 0) throw new DataFormatException(source, "the retain set is empty: every member is forgotten");
        if (NonMembers.Length == 0) throw new DataFormatException(source, "the non-member set is empty");
        var stray = Forget.FirstOrDefault(id => !members.Contains(id), -1);
        if (stray >= 0) throw new DataFormatException(source, $"forget id {stray} is not a member");
        if (!Retain.Order().SequenceEqual(Members.Except(Forget).Order()))
            throw new DataFormatException(source, "'retain' is not the members minus the forget set");
        var shadow = ShadowMembers.Concat(ShadowNonMembers).ToArray();
        if (shadow.Any(members.Contains)) throw new DataFormatException(source, "a shadow sample is also a member");
        if (ShadowMembers.Intersect(ShadowNonMembers).Any()) throw new DataFormatException(source, "a sample is both a shadow member and a shadow non-member");
    }

    /// <summary>The settings' forget fraction of <paramref name="members"/> (at least one, never all), drawn from its seed.</summary>
    static IEnumerable<int> DrawForget(SplitSettings settings, int[] members)
    {
        if (settings.ForgetFraction is <= 0 or >= 1 || double.IsNaN(settings.ForgetFraction))
            throw new LetheException($"forget fraction must be between 0 and 1 (exclusive), not {settings.ForgetFraction}");
        var count = Math.Clamp((int)Math.Round(settings.ForgetFraction * members.Length, MidpointRounding.AwayFromZero), 1, members.Length - 1);
        var order = Permutation(members.Length, Seeds.Random(settings.Seed, "split/forget"));
        return order.Take(count).Select(i => members[i]);
    }

    static int[] Permutation(int count, Random random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        random.Shuffle(order);
        return order;
    }

    static int[] Sorted(ReadOnlySpan<int> ids)
    {
        var copy = ids.ToArray();
        Array.Sort(copy);
        return copy;
    }
}
