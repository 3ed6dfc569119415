using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Experiments;
using Lethe.Storage;

namespace Lethe.Tests;

/// <summary>`reproduce --shard I/N`: disjoint parts of the work, locks between processes, and tables assembled from a shared folder.</summary>
[Collection(TorchThreads.Name)]
public class ShardTests
{
    [Fact]
    public void AHeldLockIsRefusedWithItsHolderAndAReleasedOneLeavesNoTrace()
    {
        using var dir = new TempDir();
        var path = dir.File("cells/a.lock");
        using (var first = WorkLock.TryTake(path, "cell a", out var none))
        {
            Assert.NotNull(first);
            Assert.Null(none);
            Assert.Null(first.Stale);
            // flock is per open file: a second open of the same file conflicts even within one process.
            Assert.Null(WorkLock.TryTake(path, "cell a", out var holder));
            Assert.Equal(Environment.ProcessId, holder!.Pid);
            Assert.Equal("cell a", holder.Work);
            var busy = Assert.Throws<WorkBusyException>(() => WorkLock.Take(path, "cell a", deferBusy: true));
            Assert.Contains($"pid {Environment.ProcessId}", busy.Message);
        }
        Assert.Equal(0, new FileInfo(path).Length);
        using var again = WorkLock.TryTake(path, "cell a", out _);
        Assert.NotNull(again);
        Assert.Null(again.Stale);
    }

    [Fact]
    public void TheRecordOfAHolderThatDiedIsReportedAsStaleWhenTheLockIsTaken()
    {
        using var dir = new TempDir();
        var path = dir.File("a.lock");
        var dead = new LockHolder("node-7", 4242, new DateTime(2026, 12, 1, 8, 0, 0, DateTimeKind.Utc), "cell a");
        File.WriteAllText(path, JsonSerializer.Serialize(dead, LetheJson.Compact));
        using (var taken = WorkLock.TryTake(path, "cell a", out _))
            Assert.Equal(dead, taken!.Stale);
        File.WriteAllText(path, "{\"Host\":\"node-7\",\"Pi"); // died while writing its record
        using (var taken = WorkLock.TryTake(path, "cell a", out _))
            Assert.NotNull(taken!.Stale);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(40)]
    public void ThePartsAreDisjointCoverTheWorkAndKeepGroupsTogether(int count)
    {
        var plan = new WorkPlan();
        string[] groups = ["moco", "classifier", "simclr"];
        for (var i = 0; i < 30; i++) plan.Add(new WorkUnit($"cell-{i}", groups[i % 3], () => false, () => { }));
        plan.Add(new WorkUnit("cell-0", "moco", () => false, () => { })); // asked for again by another table
        Assert.Equal(30, plan.Units.Count);
        var parts = Enumerable.Range(1, count).Select(i => plan.Part(i, count)).ToArray();
        Assert.Equal(plan.Units.Select(u => u.Path).Order(), parts.SelectMany(p => p).Select(u => u.Path).Order());
        Assert.All(parts, p => Assert.InRange(p.Count, 30 / count, (30 + count - 1) / count));
        // Units ordered by group: a group spans at most ceil(10 / part size) + 1 parts.
        if (count == 3) Assert.All(parts, p => Assert.Single(p.Select(u => u.Group).Distinct()));
        Assert.Throws<LetheException>(() => plan.Part(count + 1, count));
        Assert.Throws<LetheException>(() => plan.Part(0, count));
    }

    [Fact]
    public void PlanListsThePartsOfTheWorkWithoutMeasuring()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 400, testCount: 100, size: 12);
        string[] Args(params string[] more) => ["reproduce", "--scale", "tiny", "--seeds", "1", "--only", "ii", "--lira", "4", "--data-dir", dir.Path, "--out", dir.File("out"), "--plan", .. more];
        var (code, output, error) = CliRunner.Run(Args());
        Assert.True(code == 0, error + output);
        var total = int.Parse(System.Text.RegularExpressions.Regex.Match(output, @"(\d+) pieces of work, 0 done").Groups[1].Value);
        Assert.Contains("lira/seed-1/fashion-mnist/moco/ref-03", output);
        var parts = 0;
        for (var i = 1; i <= 2; i++)
        {
            (code, output, error) = CliRunner.Run(Args("--shard", $"{i}/2"));
            Assert.True(code == 0, error + output);
            var match = System.Text.RegularExpressions.Regex.Match(output, $@"(\d+) pieces of work in part {i}/2 of {total}, 0 done");
            Assert.True(match.Success, output);
            parts += int.Parse(match.Groups[1].Value);
        }
        Assert.Equal(total, parts);
        Assert.False(Directory.Exists(dir.File("out/cells")) && Directory.GetFiles(dir.File("out/cells"), "*.json", SearchOption.AllDirectories).Length > 0);
        Assert.False(Directory.Exists(dir.File("out/runs")));
    }

    [Theory]
    [InlineData("3/2")]
    [InlineData("0/2")]
    [InlineData("1")]
    [InlineData("a/b")]
    public void ABadShardIsAOneLineError(string shard)
    {
        var (code, _, error) = CliRunner.Run("reproduce", "--scale", "tiny", "--shard", shard, "--out", Path.Combine(Path.GetTempPath(), "lethe-never-made"));
        Assert.NotEqual(0, code);
        Assert.Contains("--shard", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    /// <summary>
    /// A shard killed while it held a cell's lock, then two shard processes at once on the folder it left: the stale lock
    /// is reported and taken over, and the tables assembled from the folder equal those of one process on its own.
    /// </summary>
    [Fact]
    public void TwoShardProcessesSharingAFolderGiveTheTablesOfOneProcess()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 400, testCount: 100, size: 12);
        // One thread per process: two processes share the cores, and the single run must do the same arithmetic.
        string[] common = ["reproduce", "--scale", "tiny", "--seed", "0", "--seeds", "1", "--only", "ii", "methods", "--lira", "4", "--threads", "1", "--data-dir", dir.Path];
        string[] Args(string output, params string[] more) => [.. common, "--out", dir.File(output), .. more];

        var (killed, _, _) = CliRunner.RunChild(Args("shared", "--shard", "1/2"), new Dictionary<string, string> { [Runtime.FaultPoints.Variable] = "cell:locked" });
        Assert.Equal(137, killed);
        var (code, output, error) = CliRunner.Run(Args("shared", "--assemble"));
        Assert.NotEqual(0, code);
        Assert.Contains("are not in", error);

        using (var first = new CliRunner.Child(Args("shared", "--shard", "1/2")))
        using (var second = new CliRunner.Child(Args("shared", "--shard", "2/2")))
        {
            var a = first.Wait(TimeSpan.FromMinutes(8));
            var b = second.Wait(TimeSpan.FromMinutes(8));
            Assert.True(a.Code == 0, a.Err + a.Out);
            Assert.True(b.Code == 0, b.Err + b.Out);
            Assert.Contains("which ended without finishing it", a.Out); // the killed shard's lock
            Assert.Matches(@"Shard 1/2: \d+ of \d+ pieces of work, [1-9]\d* measured now", a.Out);
            Assert.Matches(@"Shard 2/2: \d+ of \d+ pieces of work, [1-9]\d* measured now", b.Out);
        }
        (code, output, error) = CliRunner.Run(Args("shared", "--assemble"));
        Assert.True(code == 0, error + output);
        Assert.Contains("Experiments: 0 measured now", output);

        var single = CliRunner.RunChild(Args("single"), minutes: 8);
        Assert.True(single.Code == 0, single.Err + single.Out);
        var ids = Directory.GetFiles(dir.File("single/tables"), "*.json").Select(f => Path.GetFileName(f)).Order().ToArray();
        Assert.Equal(["lira.json", "methods-classifier-attacks.json", "methods-classifier.json", "methods-encoder-attacks.json", "methods-encoder.json", "table-ii.json"], ids);
        foreach (var id in ids)
        {
            var (expected, actual) = (Measured(dir.File($"single/tables/{id}")), Measured(dir.File($"shared/tables/{id}")));
            Assert.Equal(expected.Length, actual.Length);
            for (var row = 0; row < expected.Length; row++) Assert.True(expected[row] == actual[row], $"{id}, row {row}:\n{expected[row]}\n{actual[row]}");
        }
    }

    [Fact]
    public void TuningShardsMeasureTheGridAndAssemblyChoosesWithoutMeasuring()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 400, testCount: 100, size: 12);
        string[] Args(params string[] more) => ["tune", "--scale", "tiny", "--lr-factors", "1", "--epochs", "1", "--data-dir", dir.Path, "--out", dir.File("out"), .. more];
        var (code, _, error) = CliRunner.Run(Args("--assemble"));
        Assert.NotEqual(0, code);
        Assert.Contains("are not in", error);
        for (var i = 1; i <= 2; i++)
        {
            var (shard, output, shardError) = CliRunner.Run(Args("--shard", $"{i}/2"));
            Assert.True(shard == 0, shardError + output);
            Assert.Matches($@"Shard {i}/2: \d+ of \d+ pieces of work, [1-9]\d* measured now", output);
            Assert.False(File.Exists(dir.File("out/tuned-defaults.json")));
        }
        var cells = Directory.GetFiles(dir.File("out/cells"), "*.json", SearchOption.AllDirectories).Length;
        var (assembled, assembly, assemblyError) = CliRunner.Run(Args("--assemble"));
        Assert.True(assembled == 0, assemblyError + assembly);
        Assert.Contains("Tuned on seed(s) 100", assembly);
        Assert.DoesNotContain("unlearn ", assembly);
        Assert.Equal(cells, Directory.GetFiles(dir.File("out/cells"), "*.json", SearchOption.AllDirectories).Length);
        Assert.True(File.Exists(dir.File("out/tuned-defaults.json")));
    }

    /// <summary>A table's rows as JSON without its wall-clock columns (seconds, speed-ups), which no two runs share.</summary>
    static string[] Measured(string path)
    {
        var table = JsonNode.Parse(File.ReadAllText(path))!;
        var columns = table["columns"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray();
        var timed = columns.Select((c, i) => (c, i)).Where(x => x.c.Contains("seconds", StringComparison.Ordinal) || x.c.Contains("speed-up", StringComparison.Ordinal)).Select(x => x.i).ToHashSet();
        Assert.NotEmpty(table["rows"]!.AsArray());
        return [.. table["rows"]!.AsArray().Select(r => new JsonArray([.. r!.AsArray().Where((_, i) => !timed.Contains(i)).Select(v => v?.DeepClone())]).ToJsonString())];
    }
}
