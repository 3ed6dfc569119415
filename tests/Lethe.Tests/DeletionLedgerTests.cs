using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Lethe.Requests;
using SkiaSharp;

namespace Lethe.Tests;

/// <summary>
/// Once per test class: an image folder whose file names are easy to find in any file (the privacy search), a tiny SimCLR
/// run on it, and a store made from the run with three requests added (the third repeats a sample of the first).
/// Each test copies the store and works on its copy.
/// </summary>
public sealed class LedgerFixture : IDisposable
{
    public TempDir Dir { get; } = new();

    /// <summary>The store with three pending requests.</summary>
    public string Template => Dir.File("template");

    /// <summary>The ids each request names, in order.</summary>
    public List<string[]> Requests { get; } = [];

    /// <summary>The training images that are members, by id.</summary>
    public List<string> Members { get; } = [];

    /// <summary>The test-split images (never members).</summary>
    public List<string> TestImages { get; } = [];

    /// <summary>The final version's weights hash and the ledger after an uninterrupted run of the three requests.</summary>
    public string UninterruptedModelSha { get; }

    public LedgerFixture()
    {
        for (var c = 0; c < 2; c++)
        {
            for (var i = 0; i < 60; i++)
            {
                ImageFolderTests.WriteImage(Dir.File($"photos/{(c == 0 ? "cats" : "dogs")}/person-qzx{c}{i:D2}.png"), 16, 16,
                    (x, y) => new SKColor((byte)(x * 13 + i * 3), (byte)(y * 11 + c * 90), (byte)(i * 4 + x * y), 255));
            }
        }
        var folder = Folder;
        var (code, ids, error) = Run(["data", "info", .. folder, "--ids"]);
        Check(code, error);
        foreach (var fields in ids.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')))
        {
            if (fields[1] == "test") TestImages.Add(fields[0]);
        }
        (code, var output, error) = Run(["pretrain", "--method", "simclr", "--preset", "tiny", .. folder, "--members", "16", "--non-members", "12", "--epochs", "1", "--out", Dir.File("run")]);
        Check(code, error + output);
        var split = Data.MembershipSplit.Load(Dir.File("run/split.json"));
        var names = ids.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).Where(f => f[1] == "train").Select(f => f[0]).ToList();
        Members.AddRange(split.Members.Select(m => names[m]));

        var policy = StorePolicy.Default("targeted", classifier: false);
        policy = policy with { Audit = policy.Audit with { Views = 3 }, Unlearning = policy.Unlearning with { Epochs = 3 } };
        File.WriteAllText(Dir.File("policy.json"), Storage.LetheJson.Serialize(policy));
        (code, output, error) = Run("store", "init", "--store", Template, "--from", Dir.File("run"), "--policy", Dir.File("policy.json"));
        Check(code, error + output);
        Requests.Add([Members[0], Members[1], Members[2]]);
        Requests.Add([Members[5], Members[6]]);
        Requests.Add([Members[2], Members[8], Members[9]]);
        for (var r = 0; r < Requests.Count; r++)
        {
            File.WriteAllLines(Dir.File($"request{r + 1}.txt"), Requests[r]);
            (code, output, error) = Run("requests", "add", "--store", Template, "--forget-list", Dir.File($"request{r + 1}.txt"), "--reference", $"ticket-{r + 1}");
            Check(code, error + output);
        }

        var reference = Copy("uninterrupted");
        (code, output, error) = Run("requests", "process", "--store", reference);
        Check(code, error + output);
        using var store = ModelStore.Open(reference);
        UninterruptedModelSha = store.Ledger.Versions()[^1].ModelSha256;
    }

    public string[] Folder => ["--dataset", "folder", "--data-dir", Dir.File("photos"), "--test-fraction", "0.4", "--image-size", "16"];

    /// <summary>A copy of the template store in a new folder.</summary>
    public string Copy(string name)
    {
        var target = Dir.File(name + "-" + Guid.NewGuid().ToString("N")[..8]);
        TestFiles.CopyTree(Template, target);
        return target;
    }

    public static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run([.. args, "--threads", "1"]);

    static void Check(int code, string error)
    {
        if (code != 0) throw new InvalidOperationException(error);
    }

    public void Dispose() => Dir.Dispose();
}

/// <summary>The deletion ledger: the workflow, the chain of hashes, crash safety at every fault point, the lock, privacy.</summary>
[Collection(TorchThreads.Name)]
public sealed class DeletionLedgerTests(LedgerFixture fixture) : IClassFixture<LedgerFixture>
{
    static (int Code, string Out, string Err) Run(params string[] args) => LedgerFixture.Run(args);

    [Fact]
    public void Three_requests_are_processed_in_order_on_the_newest_version_and_verify()
    {
        var store = fixture.Copy("workflow");
        var (code, output, error) = Run("requests", "process", "--store", store);
        Assert.True(code == 0, error + output);
        Assert.Contains("request 3: 3 samples, 2 not yet forgotten; version 2 -> 3", output);
        (code, output, error) = Run("requests", "verify", "--store", store);
        Assert.True(code == 0, error + output);
        Assert.Contains("verified: 4 versions, 3 certificates, 0 pending", output);
        Assert.Empty(Directory.GetFiles(Path.Combine(store, "pending")));

        using var opened = ModelStore.Open(store);
        var versions = opened.Ledger.Versions();
        Assert.Equal([null, 0L, 1L, 2L], versions.Select(v => v.Parent));
        Assert.Equal([null, 1L, 2L, 3L], versions.Select(v => v.Request));
        Assert.Equal(fixture.UninterruptedModelSha, versions[^1].ModelSha256);
        Assert.Equal(7, opened.Ledger.Forgotten().Count);
        var third = Certificate.Read(opened.File(ModelStore.CertificateFile(3, "json")));
        Assert.Equal((3, 2, 1), (third.Samples, third.Forgotten, third.AlreadyForgotten));
        Assert.Equal(1, third.SampleHashes.Single(h => h.Status == SampleHash.AlreadyForgotten).ForgottenBy);
        Assert.Equal(opened.Key.Hash(fixture.Requests[2][0]), third.SampleHashes.Single(h => h.Status == SampleHash.AlreadyForgotten).Hash);
        Assert.Equal("ticket-3", third.Reference);
        Assert.Equal(2, third.ParentVersion.Id);
        Assert.Equal(3, third.NewVersion!.Id);
        var second = opened.Ledger.Outcomes()[1];
        Assert.Equal(new CertificateLink(2, second.CertificateSha256), third.Previous);
        Assert.NotNull(third.Audit);
        Assert.Equal(2, third.Audit!.Forgotten);
        Assert.Equal("head/encodermi-threshold", third.Audit.Headline);
        Assert.Equal(third.Checks.All(c => c.Met), third.MeetsPolicy);
        Assert.All(third.Checks, c => Assert.Equal(c.Check.Contains("drop", StringComparison.Ordinal) ? c.Value <= c.Limit : c.Value <= c.Limit, c.Met));

        // A second run finds nothing to do; a request naming only forgotten samples makes no new version.
        opened.Dispose();
        (code, output, _) = Run("requests", "process", "--store", store);
        Assert.Equal(0, code);
        Assert.Contains("No pending requests.", output);
        File.WriteAllLines(Path.Combine(store, "again.txt"), fixture.Requests[1]);
        (code, output, error) = Run("requests", "add", "--store", store, "--forget-list", Path.Combine(store, "again.txt"));
        Assert.True(code == 0, error);
        Assert.StartsWith("4\n", output);
        (code, output, error) = Run("requests", "process", "--store", store);
        Assert.True(code == 0, error + output);
        Assert.Contains("nothing to forget: every sample was forgotten earlier", output);
        (code, output, error) = Run("requests", "show", "4", "--store", store);
        Assert.True(code == 0, error);
        Assert.Contains("# Lethe certificate: deletion request 4", output);
        Assert.Contains("unchanged: nothing left to forget", output);
        File.Delete(Path.Combine(store, "again.txt"));
        (code, output, error) = Run("requests", "verify", "--store", store);
        Assert.True(code == 0, error + output);
        Assert.Contains("4 versions, 4 certificates", output);
    }

    [Fact]
    public void Adding_a_request_refuses_non_members_unknown_ids_and_the_whole_member_set_naming_the_entry()
    {
        var store = fixture.Copy("refuse");
        var list = Path.Combine(fixture.Dir.Path, $"bad-{Guid.NewGuid():N}.txt");
        (string[] Lines, string Expected)[] cases =
        [
            ([fixture.Members[0], fixture.TestImages[0]], "line 2: '" + fixture.TestImages[0] + "' is a test-split sample"),
            ([fixture.Members[0], "cats/nobody.png"], "line 2: 'cats/nobody.png' names no image"),
            ([fixture.Members[0], fixture.Members[0]], "line 2: '" + fixture.Members[0] + "' repeats line 1"),
            ([fixture.Members[0]], "names 1 sample"),
            ([fixture.Members[0], fixture.Members[13]], "names 1 sample that no earlier request forgets"),
            ([.. fixture.Members], "names every member not yet forgotten (16)"),
            (["# nothing"], "names no samples"),
        ];
        foreach (var (lines, expected) in cases)
        {
            File.WriteAllLines(list, lines);
            var (code, _, error) = Run("requests", "add", "--store", store, "--forget-list", list);
            Assert.Equal(1, code);
            Assert.Contains(expected, error);
            Assert.Single(error.Trim().Split('\n'));
        }
        using var opened = ModelStore.Open(store);
        Assert.Equal(3, opened.Ledger.Requests().Count);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(store, "pending")).Length);
    }

    [Fact]
    public void Verify_names_the_file_of_any_flipped_byte()
    {
        var clean = fixture.Copy("flip");
        var (code, output, error) = Run("requests", "process", "--store", clean);
        Assert.True(code == 0, error + output);
        string[] files =
        [
            "versions/v0000.ckpt", "versions/v0002.ckpt", "certificates/r0001.json", "certificates/r0002.md", "certificates/r0003.html",
            "policy.json", "store.key", "base/split.json", "base/settings.json",
        ];
        foreach (var file in files)
        {
            var store = CopyOf(clean);
            Flip(Path.Combine(store, file), Math.Min(200, new FileInfo(Path.Combine(store, file)).Length / 2));
            (code, _, error) = Run("requests", "verify", "--store", store);
            Assert.True(code == 1, $"{file}: {error}");
            Assert.Contains(file, error);
            Assert.Single(error.Trim().Split('\n'));
        }

        // In the ledger: one character of a recorded SHA-256, and a row's count.
        string sha;
        using (var opened = ModelStore.Open(clean)) sha = opened.Ledger.Versions()[2].Sha256;
        var ledgerCopy = CopyOf(clean);
        var bytes = File.ReadAllBytes(Path.Combine(ledgerCopy, Ledger.FileName));
        var at = IndexOf(bytes, Encoding.ASCII.GetBytes(sha));
        Assert.True(at >= 0, "the version's hash is stored as text in ledger.db");
        bytes[at + 5] = (byte)(bytes[at + 5] == (byte)'0' ? '1' : '0');
        File.WriteAllBytes(Path.Combine(ledgerCopy, Ledger.FileName), bytes);
        (code, _, error) = Run("requests", "verify", "--store", ledgerCopy);
        Assert.Equal(1, code);
        Assert.Contains("ledger.db", error);
        Assert.Single(error.Trim().Split('\n'));

        // A byte outside any value (the file's last page), and the stamp itself.
        foreach (var (file, expected) in new[] { (Ledger.FileName, "ledger.db has changed: it does not match ledger.sha256"), (Ledger.StampFileName, "ledger.sha256 is damaged") })
        {
            var copy = CopyOf(clean);
            var path = Path.Combine(copy, file);
            Flip(path, new FileInfo(path).Length - 3);
            (code, _, error) = Run("requests", "verify", "--store", copy);
            Assert.True(code == 1, $"{file}: {error}");
            Assert.Contains(expected, error);
            Assert.Single(error.Trim().Split('\n'));
        }

        // A file that is not SQLite in the ledger's place, and a missing version.
        var notSqlite = CopyOf(clean);
        File.WriteAllText(Path.Combine(notSqlite, Ledger.FileName), "not a database, just text that is long enough to look like a header of something");
        (code, _, error) = Run("requests", "verify", "--store", notSqlite);
        Assert.Equal(1, code);
        Assert.Contains("ledger.db: is not a readable SQLite ledger", error);
        var missing = CopyOf(clean);
        File.Delete(Path.Combine(missing, "versions/v0001.ckpt"));
        (code, _, error) = Run("requests", "verify", "--store", missing);
        Assert.Equal(1, code);
        Assert.Contains("versions/v0001.ckpt is missing", error);
    }

    /// <summary>Every fault point, killed there (as kill -9 would) in a child process; a rerun completes the store.</summary>
    public static TheoryData<string> FaultPoints =>
    [
        "process:start", "process:request:2", "process:unlearned", "process:version-written:2", "process:certificate-written",
        "process:in-transaction:2", "ledger:committed:2", "process:committed", "process:list-deleted:2", "add:list-written",
    ];

    [Theory]
    [MemberData(nameof(FaultPoints))]
    public void A_kill_at_any_fault_point_leaves_a_store_that_a_rerun_completes_exactly_once(string point)
    {
        var store = fixture.Copy("fault");
        var add = point.StartsWith("add:", StringComparison.Ordinal);
        var extra = Path.Combine(fixture.Dir.Path, $"extra-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(extra, [fixture.Members[11], fixture.Members[12]]);
        string[] args = add
            ? ["requests", "add", "--store", store, "--forget-list", extra, "--threads", "1"]
            : ["requests", "process", "--store", store, "--threads", "1"];
        var (code, error) = RunChild(args, point);
        Assert.True(code == 137, $"expected the kill at {point} (exit 137), got {code}: {error}");
        Assert.Contains($"fault point {string.Join(':', point.Split(':').Take(2))} reached", error);

        // The rerun removes what the kill left and completes; every request has exactly one outcome.
        var (rerun, output, rerunError) = Run("requests", "process", "--store", store);
        Assert.True(rerun == 0, rerunError + output);
        (rerun, output, rerunError) = Run("requests", "verify", "--store", store);
        Assert.True(rerun == 0, rerunError + output);
        Assert.DoesNotContain("note:", output);
        using var opened = ModelStore.Open(store);
        var outcomes = opened.Ledger.Outcomes();
        Assert.Equal(opened.Ledger.Requests().Select(r => r.Id), outcomes.Select(o => o.Request));
        Assert.Equal(3, outcomes.Count);
        Assert.Equal(4, opened.Ledger.Versions().Count);
        Assert.Empty(Directory.GetFiles(Path.Combine(store, "pending")));
        Assert.Empty(Directory.EnumerateFiles(store, "*.tmp", SearchOption.AllDirectories));
        Assert.Equal(fixture.UninterruptedModelSha, opened.Ledger.Versions()[^1].ModelSha256);
    }

    [Fact]
    public void A_second_process_on_a_busy_store_fails_at_once_or_after_its_wait()
    {
        var store = fixture.Copy("lock");
        using (ModelStore.Open(store))
        {
            var watch = Stopwatch.StartNew();
            var (code, _, error) = Run("requests", "process", "--store", store);
            Assert.Equal(1, code);
            Assert.Contains("store is busy", error);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), "fails at once");
            (code, _, error) = Run("requests", "list", "--store", store, "--wait", "0.5");
            Assert.Equal(1, code);
            Assert.Contains("store is busy", error);
            Assert.Contains("waited", error);
            Assert.Throws<LetheException>(() => ModelStore.Open(store));
        }
        var (free, output, freeError) = Run("requests", "list", "--store", store);
        Assert.True(free == 0, freeError + output);
    }

    [Fact]
    public void No_forgotten_id_reaches_any_file_of_the_store_or_any_output_line()
    {
        var store = fixture.Copy("privacy");
        var lines = new StringBuilder();
        void Do(params string[] args)
        {
            var (code, output, error) = Run(args);
            Assert.True(code == 0, error + output);
            lines.Append(output).Append(error);
        }
        Do("requests", "list", "--store", store);
        Do("requests", "process", "--store", store);
        Do("requests", "list", "--store", store);
        Do("requests", "show", "2", "--store", store);
        Do("requests", "verify", "--store", store);
        Do("requests", "verify", "--store", store, "--json");
        var forgotten = fixture.Requests.SelectMany(r => r).Distinct().ToList();
        var text = lines.ToString();
        foreach (var id in forgotten)
        {
            Assert.DoesNotContain(id, text);
            Assert.DoesNotContain(Path.GetFileNameWithoutExtension(id), text);
        }
        var files = Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories).ToList();
        Assert.Contains(files, f => f.EndsWith("ledger.db", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            foreach (var id in forgotten)
            {
                Assert.True(IndexOf(bytes, Encoding.UTF8.GetBytes(Path.GetFileNameWithoutExtension(id))) < 0, $"{file} holds {id}");
                Assert.True(IndexOf(bytes, Encoding.Unicode.GetBytes(Path.GetFileNameWithoutExtension(id))) < 0, $"{file} holds {id} (UTF-16)");
            }
        }
        // The key is the owner's alone; a forgotten id's hash is in the certificate, and only the key links it to the id.
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(store, StoreKey.FileName)));
        using var opened = ModelStore.Open(store);
        var certificate = File.ReadAllText(opened.File(ModelStore.CertificateFile(1, "json")));
        Assert.Contains(opened.Key.Hash(fixture.Requests[0][1]), certificate);
    }

    [Fact]
    public void A_policy_with_unknown_keys_wrong_types_or_a_negative_learning_rate_is_refused_by_init()
    {
        var policy = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture.Template, StorePolicy.FileName)))!.AsObject();
        (Action<JsonObject> Change, string Expected)[] cases =
        [
            (p => p["thresholds"]!["maxForgetAuk"] = 0.5, "maxForgetAuk"),
            (p => p["unlearning"]!["epochs"] = "ten", "is not a valid policy"),
            (p => p["unlearning"]!["learningRate"] = -0.1, "learning rate must be positive"),
            (p => p["thresholds"]!["maxForgetAuc"] = 1.5, "maxForgetAuc must lie in [0, 1]"),
            (p => p["unlearning"]!["method"] = "random-labels", "works on classifiers only"),
        ];
        foreach (var (change, expected) in cases)
        {
            var copy = policy.DeepClone().AsObject();
            change(copy);
            var file = Path.Combine(fixture.Dir.Path, $"policy-{Guid.NewGuid():N}.json");
            File.WriteAllText(file, copy.ToJsonString());
            var target = Path.Combine(fixture.Dir.Path, $"store-{Guid.NewGuid():N}");
            var (code, _, error) = Run("store", "init", "--store", target, "--from", Path.Combine(fixture.Dir.Path, "run"), "--policy", file);
            Assert.Equal(1, code);
            Assert.Contains(expected, error);
            Assert.Contains(file, error);
            Assert.Single(error.Trim().Split('\n'));
            Assert.False(Directory.Exists(target));
            Assert.Empty(Directory.EnumerateFileSystemEntries(fixture.Dir.Path, ".store-*"));
        }
    }

    [Fact]
    public void A_store_starts_from_an_imported_PyTorch_model()
    {
        var members = Path.Combine(fixture.Dir.Path, $"members-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(members, fixture.Members);
        var target = Path.Combine(fixture.Dir.Path, $"imported-{Guid.NewGuid():N}");
        var weights = Path.Combine(TestFiles.PyTorchFixtures, "resnet18_w4.pt");
        var (code, output, error) = Run(["store", "init", "--store", target, "--import", weights, .. fixture.Folder, "--members", members, "--preset", "tiny"]);
        Assert.True(code == 0, error + output);
        Assert.Contains("version 0 is versions/v0000.ckpt (simclr, 16 members)", output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(fixture.Dir.Path, ".imported-*"));
        Assert.True(File.Exists(Path.Combine(target, "base", "import.json")));
        (code, output, error) = Run("requests", "verify", "--store", target);
        Assert.True(code == 0, error + output);
        using var store = ModelStore.Open(target);
        Assert.StartsWith(weights + " (imported, SHA-256 ", store.Meta["source"], StringComparison.Ordinal);
        Assert.Equal("resnet18", store.BaseSettings.Encoder.Architecture);

        // --from and --import together, or neither, is refused before anything is written.
        (code, _, error) = Run("store", "init", "--store", target + "-x", "--from", Path.Combine(fixture.Dir.Path, "run"), "--import", weights);
        Assert.Equal(1, code);
        Assert.Contains("not both", error);
        (code, _, error) = Run("store", "init", "--store", target);
        Assert.Equal(1, code);
        Assert.Contains("give --from RUN or --import WEIGHTS", error);
        Assert.False(Directory.Exists(target + "-x"));
    }

    [Fact]
    public void A_request_that_cannot_be_answered_is_recorded_as_refused_and_the_queue_goes_on()
    {
        var policy = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture.Template, StorePolicy.FileName)))!.AsObject();
        policy["unlearning"]!["learningRate"] = 1e30;
        policy["unlearning"]!["perSampleStop"] = false;
        var file = Path.Combine(fixture.Dir.Path, $"policy-nan-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, policy.ToJsonString());
        var store = Path.Combine(fixture.Dir.Path, $"refused-{Guid.NewGuid():N}");
        var (code, output, error) = Run("store", "init", "--store", store, "--from", Path.Combine(fixture.Dir.Path, "run"), "--policy", file);
        Assert.True(code == 0, error + output);
        var list = Path.Combine(fixture.Dir.Path, $"refused-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(list, fixture.Requests[0]);
        (code, _, error) = Run("requests", "add", "--store", store, "--forget-list", list, "--reference", "<img src=x onerror=alert(1)>");
        Assert.True(code == 0, error);
        File.WriteAllLines(list, fixture.Requests[1]);
        (code, _, error) = Run("requests", "add", "--store", store, "--forget-list", list);
        Assert.True(code == 0, error);

        (code, output, error) = Run("requests", "process", "--store", store);
        Assert.True(code == 1, error + output);
        Assert.Contains("request 1: not answered: unlearning diverged", output);
        Assert.Contains("request 2: not answered: unlearning diverged", output);
        (code, output, error) = Run("requests", "verify", "--store", store);
        Assert.True(code == 0, error + output);
        Assert.Contains("verified: 1 versions, 2 certificates, 0 pending", output);
        using var opened = ModelStore.Open(store);
        var certificate = Certificate.Read(opened.File(ModelStore.CertificateFile(1, "json")));
        Assert.StartsWith("unlearning diverged", certificate.Refused);
        Assert.False(certificate.MeetsPolicy);
        Assert.Null(certificate.NewVersion);
        Assert.Equal(0, certificate.Forgotten);
        Assert.All(certificate.SampleHashes, h => Assert.Equal(SampleHash.NotForgotten, h.Status));
        Assert.Empty(opened.Ledger.Forgotten());
        Assert.Empty(Directory.GetFiles(Path.Combine(store, "pending")));
        // The reference is shown on the page, never run as HTML.
        var html = File.ReadAllText(opened.File(ModelStore.CertificateFile(1, "html")));
        Assert.DoesNotContain("<img src=x", html);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", html);
    }

    [Fact]
    public void Store_policy_prints_a_policy_init_accepts_and_strict_and_json_say_what_happened()
    {
        var (code, output, error) = Run("store", "policy");
        Assert.True(code == 0, error);
        var policy = JsonNode.Parse(output)!.AsObject();
        Assert.Equal("targeted", (string?)policy["unlearning"]!["method"]);
        // Thresholds no request can meet together: --strict exits with 2.
        policy["thresholds"]!["maxForgetAuc"] = 0.0;
        policy["thresholds"]!["minRetainedAuc"] = 1.0;
        var file = Path.Combine(fixture.Dir.Path, $"policy-strict-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, policy.ToJsonString());
        var store = Path.Combine(fixture.Dir.Path, $"strict-{Guid.NewGuid():N}");
        (code, output, error) = Run("store", "init", "--store", store, "--from", Path.Combine(fixture.Dir.Path, "run"), "--policy", file);
        Assert.True(code == 0, error + output);
        var list = Path.Combine(fixture.Dir.Path, $"strict-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(list, fixture.Requests[0]);
        (code, _, error) = Run("requests", "add", "--store", store, "--forget-list", list);
        Assert.True(code == 0, error);
        (code, output, error) = Run("requests", "process", "--store", store, "--strict");
        Assert.True(code == 2, error + output);
        Assert.Contains("does not meet the policy: ", output);
        (code, output, error) = Run("requests", "list", "--store", store, "--json");
        Assert.True(code == 0, error);
        var ledger = JsonNode.Parse(output)!.AsObject();
        Assert.Single(ledger["requests"]!.AsArray());
        Assert.False((bool)ledger["outcomes"]![0]!["meetsPolicy"]!);
        Assert.Equal(2, ledger["versions"]!.AsArray().Count);
    }

    static string CopyOf(string store)
    {
        var target = store + "-" + Guid.NewGuid().ToString("N")[..6];
        TestFiles.CopyTree(store, target);
        return target;
    }

    static void Flip(string path, long offset)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[offset] ^= 0x01;
        File.WriteAllBytes(path, bytes);
    }

    static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);

    /// <summary>Runs the command line in a child process with a fault point armed; returns its exit code and standard error.</summary>
    static (int Code, string Error) RunChild(string[] args, string faultPoint)
    {
        var (code, _, error) = CliRunner.RunChild(args, new Dictionary<string, string> { [Runtime.FaultPoints.Variable] = faultPoint });
        return (code, error);
    }
}
