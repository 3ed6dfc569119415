using Lethe.Data;

namespace Lethe.Tests;

public class SplitTests
{
    static readonly SplitSettings Small = new() { Members = 100, NonMembers = 40, ForgetFraction = 0.2, ShadowMembers = 30, ShadowNonMembers = 20, Seed = 7 };

    static MembershipSplit Make(SplitSettings? settings = null, string? forgetFile = null) =>
        MembershipSplit.Create(settings ?? Small, "test-set", trainCount: 500, testCount: 60, forgetFile);

    [Fact]
    public void SameSeedGivesSameIdsAndAnotherSeedOthers()
    {
        var a = Make();
        var b = Make();
        var c = Make(Small with { Seed = 8 });
        Assert.Equal(a.Members, b.Members);
        Assert.Equal(a.Forget, b.Forget);
        Assert.Equal(a.NonMembers, b.NonMembers);
        Assert.Equal(a.ShadowMembers, b.ShadowMembers);
        Assert.NotEqual(a.Members, c.Members);
        Assert.NotEqual(a.NonMembers, c.NonMembers);
    }

    [Fact]
    public void SetsHaveTheirSizesAndAreDisjointWhereTheProtocolNeeds()
    {
        var s = Make();
        Assert.Equal((100, 20, 80, 40, 30, 20), (s.Members.Length, s.Forget.Length, s.Retain.Length, s.NonMembers.Length, s.ShadowMembers.Length, s.ShadowNonMembers.Length));
        Assert.Empty(s.Forget.Except(s.Members));
        Assert.Empty(s.Forget.Intersect(s.Retain));
        Assert.Equal(s.Members.Order(), s.Forget.Concat(s.Retain).Order());
        Assert.Empty(s.Members.Intersect(s.ShadowMembers));
        Assert.Empty(s.Members.Intersect(s.ShadowNonMembers));
        Assert.Empty(s.ShadowMembers.Intersect(s.ShadowNonMembers));
        Assert.All(s.NonMembers, id => Assert.InRange(id, 0, 59));
        Assert.Equal(s.Members.Distinct().Count(), s.Members.Length);
    }

    [Fact]
    public void ChangingTheForgetFractionKeepsTheMembers()
    {
        var a = Make();
        var b = Make(Small with { ForgetFraction = 0.5 });
        Assert.Equal(a.Members, b.Members);
        Assert.Equal(50, b.Forget.Length);
    }

    [Fact]
    public void SavesAndLoadsTheSameSplit()
    {
        using var dir = new TempDir();
        var split = Make();
        split.Save(dir.File("split.json"));
        var loaded = MembershipSplit.Load(dir.File("split.json"));
        Assert.Equal(split.Members, loaded.Members);
        Assert.Equal(split.Forget, loaded.Forget);
        Assert.Equal(split.Retain, loaded.Retain);
        Assert.Equal(split.NonMembers, loaded.NonMembers);
        Assert.Equal(split.ShadowNonMembers, loaded.ShadowNonMembers);
        Assert.Equal(split.Settings, loaded.Settings);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void AcceptsAnExplicitForgetFile()
    {
        using var dir = new TempDir();
        var members = Make().Members;
        File.WriteAllText(dir.File("forget.txt"), $"# ids to forget\n{members[3]}\n{members[10]}, {members[0]}\n");
        var split = Make(forgetFile: dir.File("forget.txt"));
        Assert.Equal(new[] { members[0], members[3], members[10] }, split.Forget);
        Assert.Equal(97, split.Retain.Length);
        File.WriteAllText(dir.File("forget.json"), $"[{members[5]}]");
        Assert.Equal([members[5]], Make(forgetFile: dir.File("forget.json")).Forget);
    }

    [Theory]
    [InlineData("500", "id 500 is out of range")]
    [InlineData("-1", "id -1 is out of range")]
    [InlineData("MEMBER MEMBER", "is listed more than once")]
    [InlineData("NONMEMBER", "is not a member")]
    [InlineData("12abc", "line 1: '12abc' is not an integer id")]
    [InlineData("# nothing", "no ids to forget")]
    [InlineData("[1, \"x\"]", "not a JSON array of integer ids")]
    public void RejectsBadForgetIds(string content, string expected)
    {
        using var dir = new TempDir();
        var split = Make();
        var nonMember = Enumerable.Range(0, 500).First(i => !split.Members.Contains(i));
        content = content.Replace("NONMEMBER", $"{nonMember}", StringComparison.Ordinal).Replace("MEMBER", $"{split.Members[1]}", StringComparison.Ordinal);
        File.WriteAllText(dir.File("forget.txt"), content);
        var e = Assert.Throws<LetheException>(() => Make(forgetFile: dir.File("forget.txt")));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith(dir.File("forget.txt"), e.Message);
    }

    [Fact]
    public void RejectsSizesTheDataSetCannotHold()
    {
        Assert.Contains("fewer than 400 members", Assert.Throws<LetheException>(() => Make(Small with { Members = 400, ShadowMembers = 100 })).Message);
        Assert.Contains("test split has 60 samples", Assert.Throws<LetheException>(() => Make(Small with { NonMembers = 61 })).Message);
        Assert.Contains("forget fraction", Assert.Throws<LetheException>(() => Make(Small with { ForgetFraction = 1 })).Message);
        Assert.Contains("training split has 500 samples", Assert.Throws<LetheException>(() => Make(Small with { ShadowMembers = int.MaxValue })).Message);
    }

    [Fact]
    public void LoadRejectsAManifestWhoseForgetSetIsNotMembers()
    {
        using var dir = new TempDir();
        var split = Make();
        var stray = Enumerable.Range(0, 500).First(i => !split.Members.Contains(i));
        (split with { Forget = [.. split.Forget, stray] }).Save(dir.File("bad.json"));
        var e = Assert.Throws<DataFormatException>(() => MembershipSplit.Load(dir.File("bad.json")));
        Assert.Contains($"forget id {stray} is not a member", e.Message);
    }

    [Fact]
    public void LoadRejectsGarbageAndAnotherDataSet()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.json"), "{ not json");
        Assert.Contains("not valid JSON", Assert.Throws<DataFormatException>(() => MembershipSplit.Load(dir.File("bad.json"))).Message);
        Make().Save(dir.File("split.json"));
        TestFiles.MnistFolder(dir.Path, 30, 20, size: 4);
        var mnist = Datasets.Load(DatasetKind.Mnist, dir.Path);
        Assert.Contains("was made for test-set", Assert.Throws<LetheException>(() => MembershipSplit.Load(dir.File("split.json"), mnist)).Message);
    }
}
