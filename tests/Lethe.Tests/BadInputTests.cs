using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Lethe.Data;
using Lethe.Storage;
using Lethe.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Lethe.Tests;

/// <summary>
/// Everything the bad-input cases read, built once under <see cref="Root"/>: a tiny MNIST-like IDX data set and damaged
/// copies of it, one tiny SimCLR run and damaged copies of it, checkpoints of other kinds, forget lists, settings files
/// and weights files. Nothing here is changed by a case: each case checks that.
/// </summary>
public sealed class BadInputFixture : IDisposable
{
    static readonly string[] IdxFiles =
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

    public BadInputFixture()
    {
        Directory.CreateDirectory(Root);
        try
        {
            Build();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "lethe-bad-input-" + Guid.NewGuid().ToString("N"));

    public string P(string relative) => Path.Combine(Root, relative);

    void Build()
    {
        // The data set: 120 training and 40 test images of 12 x 12, and its damaged copies.
        Directory.CreateDirectory(P("data"));
        TestFiles.MnistFolder(P("data"), trainCount: 120, testCount: 40, size: 12);
        var trainImages = TestFiles.IdxImages(120, 12, 12, (n, r, c) => (byte)((n * 7 + r * 3 + c) % 256));
        CopyData("truncated-images", "train-images-idx3-ubyte.gz", TestFiles.Gzip(trainImages[..1000]));
        var gzippedLabels = TestFiles.Gzip(TestFiles.IdxLabels(Labels(120)));
        CopyData("cut-gzip", "train-labels-idx1-ubyte.gz", gzippedLabels[..(gzippedLabels.Length / 2)]);
        CopyData("wrong-magic", "t10k-labels-idx1-ubyte.gz", TestFiles.Gzip(TestFiles.IdxLabels(Labels(40), magic: 0x803)));
        CopyData("count-mismatch", "train-labels-idx1-ubyte.gz", TestFiles.Gzip(TestFiles.IdxLabels(Labels(110))));
        var corrupt = TestFiles.Gzip(trainImages);
        for (var i = 40; i < 60; i++) corrupt[i] ^= 0x5a;
        CopyData("corrupt-gzip", "train-images-idx3-ubyte.gz", corrupt);
        var labels = Labels(120);
        labels[3] = 10;
        CopyData("label-out-of-range", "train-labels-idx1-ubyte.gz", TestFiles.Gzip(TestFiles.IdxLabels(labels)));
        CopyData("missing-test-images", "t10k-images-idx3-ubyte.gz", null);

        // The one trained run, and the model files made from it.
        var (code, _, error) = CliRunner.Run("pretrain", "--method", "simclr", "--preset", "tiny", "--dataset", "mnist", "--data-dir", P("data"), "--out", P("run"), "--threads", "1");
        if (code != 0) throw new InvalidOperationException($"the fixture's pretraining failed: {error}");
        Directory.CreateDirectory(P("weights"));
        (code, _, error) = CliRunner.Run("export", "--run", P("run"), "--data-dir", P("data"), "--to", P("weights/model.pt"), "--threads", "1");
        if (code != 0) throw new InvalidOperationException($"the fixture's export failed: {error}");
        File.Copy(P("weights/model.pt"), P("weights/model.onnx"));
        File.WriteAllText(P("weights/text.pt"), "not a tensor file\n");
        WriteListPickle(P("weights/list.pt"));

        var final = File.ReadAllBytes(P("run/final.ckpt"));
        Directory.CreateDirectory(P("ckpt"));
        File.WriteAllBytes(P("ckpt/truncated.ckpt"), final[..(final.Length / 2)]);
        File.WriteAllBytes(P("ckpt/flipped.ckpt"), FlipInModel(final, P("run/final.ckpt")));
        File.Copy(P("data/train-images-idx3-ubyte.gz"), P("ckpt/not-a-checkpoint.ckpt"));
        var run = TrainingRun.Open(P("run"), P("data"));
        using (var model = run.LoadModel(CPU))
        {
            using (no_grad()) model.parameters().First().fill_(float.NaN);
            Checkpoint.Save(P("ckpt/nan.ckpt"), model, run.Settings.Architecture, run.Settings.Epochs, run.Settings.Seed, run.Settings);
        }
        var classifierSettings = run.Settings with { Method = "classifier" };
        using (var classifier = TrainingRun.Build(classifierSettings, run.Data, CPU))
            Checkpoint.Save(P("ckpt/classifier.ckpt"), classifier, classifierSettings.Architecture, 1, 0, classifierSettings);
        var wideSettings = run.Settings with { Encoder = run.Settings.Encoder with { Width = 8 } };
        using (var wide = TrainingRun.Build(wideSettings, run.Data, CPU))
            Checkpoint.Save(P("ckpt/wide.ckpt"), wide, wideSettings.Architecture, 1, 0, wideSettings);

        // Copies of the run with one file damaged.
        CopyRun("run-nan-final", "final.ckpt", File.ReadAllBytes(P("ckpt/nan.ckpt")));
        CopyRun("run-classifier-final", "final.ckpt", File.ReadAllBytes(P("ckpt/classifier.ckpt")));
        CopyRun("run-truncated-final", "final.ckpt", final[..(final.Length / 3)]);
        var split = File.ReadAllBytes(P("run/split.json"));
        CopyRun("run-truncated-split", "split.json", split[..(split.Length / 2)]);
        var settings = JsonNode.Parse(File.ReadAllText(P("run/settings.json")))!.AsObject();
        settings["encoder"] = null;
        CopyRun("run-null-encoder", "settings.json", System.Text.Encoding.UTF8.GetBytes(settings.ToJsonString()));

        // Forget lists and member lists, against the run's split.
        var members = run.Split.Members;
        var nonMember = Enumerable.Range(0, run.Split.TrainCount).First(i => !members.Contains(i));
        Directory.CreateDirectory(P("lists"));
        File.WriteAllText(P("lists/out-of-range.txt"), "5000\n");
        File.WriteAllText(P("lists/duplicates.txt"), $"{members[0]}\n{members[1]}\n{members[0]}\n");
        File.WriteAllText(P("lists/non-member.txt"), $"{nonMember}\n");
        File.WriteAllText(P("lists/empty.txt"), "# nothing to forget\n\n");
        File.WriteAllLines(P("lists/all-members.txt"), members.Select(m => m.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        File.WriteAllText(P("lists/not-an-integer.txt"), $"{members[0]}\nx7\n");
        File.WriteAllText(P("lists/forget.txt"), $"{members[0]}\n");
        File.WriteAllText(P("lists/members-unknown.txt"), "0\n1\n5000\n");

        // Settings files for pretrain --config.
        Directory.CreateDirectory(P("configs"));
        File.WriteAllText(P("configs/unknown-key.json"), """{"lerningRate": 0.01}""");
        File.WriteAllText(P("configs/wrong-type.json"), """{"learningRate": "fast"}""");
        File.WriteAllText(P("configs/negative-lr.json"), """{"learningRate": -0.1}""");
        File.WriteAllText(P("configs/null-encoder.json"), """{"encoder": null}""");
        File.WriteAllText(P("configs/null-dataset.json"), """{"dataset": null}""");
        File.WriteAllText(P("configs/not-json.json"), """{"epochs": """);

        // A model store with one pending request, and damaged copies of it; policies for store init.
        (code, _, error) = CliRunner.Run("store", "init", "--store", P("store"), "--from", P("run"), "--data-dir", P("data"), "--threads", "1");
        if (code != 0) throw new InvalidOperationException($"the fixture's store failed: {error}");
        File.WriteAllText(P("lists/request.txt"), $"{members[2]}\n{members[3]}\n");
        (code, _, error) = CliRunner.Run("requests", "add", "--store", P("store"), "--forget-list", P("lists/request.txt"));
        if (code != 0) throw new InvalidOperationException($"the fixture's request failed: {error}");
        CopyStore("store-not-sqlite", "ledger.db", "SQLite format 2\0 is what this is not; a text file in the ledger's place\n"u8.ToArray());
        CopyStore("store-missing-version", "versions/v0000.ckpt", null);
        CopyStore("store-changed-list", "pending/r0001.list", System.Text.Encoding.UTF8.GetBytes($"{members[2]}\n{members[4]}\n"));
        CopyStore("store-bad-key", "store.key", "lethe-store-key v1 not-hex\n"u8.ToArray());
        var policy = JsonNode.Parse(File.ReadAllText(P("store/policy.json")))!.AsObject();
        void Policy(string name, Action<JsonObject> change)
        {
            var copy = policy.DeepClone().AsObject();
            change(copy);
            File.WriteAllText(P($"configs/{name}.json"), copy.ToJsonString());
        }
        Policy("policy-unknown-key", p => p["thresholds"]!["maxForgetAuk"] = 0.5);
        Policy("policy-negative-lr", p => p["unlearning"]!["learningRate"] = -1e-3);
        Policy("policy-wrong-type", p => p["audit"]!["views"] = "ten");

        // Where outputs cannot go: under a regular file, and (where chmod stops this user) in a read-only folder.
        File.WriteAllText(P("blocker"), "a file, not a folder\n");
        if (BadInputTests.ChmodStopsWrites && !OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(P("readonly"));
            File.SetUnixFileMode(P("readonly"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
    }

    static byte[] Labels(int count) => Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray();

    void CopyData(string name, string file, byte[]? replacement)
    {
        var folder = P(Path.Combine("bad", name));
        Directory.CreateDirectory(folder);
        foreach (var f in IdxFiles.Where(f => f != file)) File.Copy(P(Path.Combine("data", f)), Path.Combine(folder, f));
        if (replacement is not null) File.WriteAllBytes(Path.Combine(folder, file), replacement);
    }

    void CopyRun(string name, string file, byte[] replacement)
    {
        Directory.CreateDirectory(P(name));
        foreach (var f in new[] { RunFolder.SettingsFile, RunFolder.SplitFile, RunFolder.FinalCheckpoint })
            File.Copy(P(Path.Combine("run", f)), P(Path.Combine(name, f)));
        File.WriteAllBytes(P(Path.Combine(name, file)), replacement);
    }

    /// <summary>A copy of the fixture's store with one file replaced (or removed, for null).</summary>
    void CopyStore(string name, string file, byte[]? replacement)
    {
        TestFiles.CopyTree(P("store"), P(name));
        if (replacement is null) File.Delete(P(Path.Combine(name, file)));
        else File.WriteAllBytes(P(Path.Combine(name, file)), replacement);
    }

    /// <summary>The checkpoint's bytes with one byte flipped in the middle of model.bin (stored uncompressed, so found verbatim).</summary>
    static byte[] FlipInModel(byte[] checkpoint, string path)
    {
        byte[] model;
        using (var zip = ZipFile.OpenRead(path))
        {
            using var stream = zip.GetEntry("model.bin")!.Open();
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            model = memory.ToArray();
        }
        var at = checkpoint.AsSpan().IndexOf(model.AsSpan(model.Length / 2, 64));
        if (at < 0) throw new InvalidOperationException("model.bin not found verbatim in the checkpoint");
        var flipped = (byte[])checkpoint.Clone();
        flipped[at] ^= 0xff;
        return flipped;
    }

    /// <summary>A file in torch.save's zip layout whose pickle is a list [1, 2, 3], not a dict of tensors.</summary>
    static void WriteListPickle(string path)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Entry(string name, byte[] bytes)
        {
            using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            stream.Write(bytes);
        }
        Entry("archive/data.pkl", [0x80, 0x02, 0x5d, 0x71, 0x00, 0x28, 0x4b, 0x01, 0x4b, 0x02, 0x4b, 0x03, 0x65, 0x2e]);
        Entry("archive/version", "3\n"u8.ToArray());
    }

    public void Dispose()
    {
        if (!OperatingSystem.IsWindows() && Directory.Exists(P("readonly")))
            File.SetUnixFileMode(P("readonly"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }
}

/// <summary>
/// Bad inputs to every command that reads files: each must end with exit code 1 and one line on stderr that names the
/// problem (no stack trace, no exception type), and must leave the output folder it names, and everything else, as it was.
/// Arguments starting with "$/" are paths under the fixture's folder.
/// </summary>
[Collection(TorchThreads.Name)]
public sealed class BadInputTests(BadInputFixture fixture, ITestOutputHelper log) : IClassFixture<BadInputFixture>
{
    /// <summary>One bad input: the command line, the substrings its one-line error must hold, and the output folder it names (under the fixture's folder).</summary>
    public sealed record Case(string Name, string[] Args, string[] Expect, string? Out);

    /// <summary>Whether chmod 0500 stops this user creating a folder (not for root, who passes file permissions).</summary>
    public static bool ChmodStopsWrites { get; } = ProbeChmod();

    static readonly string[] Data = ["--dataset", "mnist", "--data-dir", "$/data"];
    static readonly string[] Pretrain = ["pretrain", "--method", "simclr", "--preset", "tiny", .. Data];

    static string[] Bad(string name) => ["--dataset", "mnist", "--data-dir", $"$/bad/{name}"];

    static string[] Unlearn(string run, string outFolder) => ["unlearn", "--run", $"$/{run}", "--data-dir", "$/data", "--epochs", "1", "--out", $"$/{outFolder}"];

    static string[] Audit(string checkpoint, string outFolder) =>
        ["audit", "--run", "$/run", "--checkpoint", $"$/ckpt/{checkpoint}", "--data-dir", "$/data", "--no-linear-probe", "--out", $"$/{outFolder}"];

    static string[] Import(string weights, string members, string outFolder) =>
        ["import", "-w", $"$/weights/{weights}", "--layout", "lethe", .. Data, "--members", $"$/lists/{members}", "--preset", "tiny", "--out", $"$/{outFolder}"];

    public static IReadOnlyList<Case> Cases { get; } = BuildCases();

    static List<Case> BuildCases()
    {
        var cases = new List<Case>
        {
            // Data files.
            new("data info: truncated IDX images", ["data", "info", .. Bad("truncated-images")], ["train-images-idx3-ubyte.gz", "file is truncated"], null),
            new("data info: gzip file cut short", ["data", "info", .. Bad("cut-gzip")], ["train-labels-idx1-ubyte.gz", "truncated"], null),
            new("data info: wrong magic in the test labels", ["data", "info", .. Bad("wrong-magic")], ["t10k-labels-idx1-ubyte.gz", "wrong magic number 0x00000803"], null),
            new("data split: 110 labels for 120 images", ["data", "split", .. Bad("count-mismatch"), "--members", "32", "--non-members", "32", "--out", "$/out/split-mismatch/split.json"],
                ["train-labels-idx1-ubyte.gz", "holds 110 labels but", "holds 120 images"], "out/split-mismatch"),
            new("pretrain: corrupt gzip stream", ["pretrain", "--method", "simclr", "--preset", "tiny", .. Bad("corrupt-gzip"), "--out", "$/out/pretrain-corrupt"], ["train-images-idx3-ubyte.gz", "gzip data is corrupt"], "out/pretrain-corrupt"),
            new("data info: label 10 of 10 classes", ["data", "info", .. Bad("label-out-of-range")], ["train-labels-idx1-ubyte.gz", "label 10 of item 3 is out of range"], null),
            new("data info: missing test images file", ["data", "info", .. Bad("missing-test-images")], ["t10k-images-idx3-ubyte", "not found"], null),
            new("data info: missing data folder", ["data", "info", "--dataset", "mnist", "--data-dir", "$/no-such-folder"], ["mnist not found at", "no-such-folder"], null),
            new("train: unknown data set", ["train", "--preset", "tiny", "--dataset", "fmnist2", "--data-dir", "$/data", "--out", "$/out/train-unknown"], ["unknown data set 'fmnist2'"], "out/train-unknown"),

            // Checkpoints.
            new("audit: truncated checkpoint", Audit("truncated.ckpt", "out/audit-truncated"), ["truncated.ckpt: is damaged or not a Lethe checkpoint"], "out/audit-truncated"),
            new("audit: checkpoint with a flipped byte", Audit("flipped.ckpt", "out/audit-flipped"), ["flipped.ckpt: is damaged: model.bin does not match its SHA-256"], "out/audit-flipped"),
            new("audit: a classifier's checkpoint for an encoder run", Audit("classifier.ckpt", "out/audit-classifier"),
                ["classifier.ckpt", "a 'classifier/small-cnn' model cannot be loaded into a 'simclr/small-cnn' model"], "out/audit-classifier"),
            new("audit: checkpoint with NaN weights", Audit("nan.ckpt", "out/audit-nan"), ["nan.ckpt: weight '", "holds NaN/Inf"], "out/audit-nan"),
            new("audit: an IDX file as checkpoint", Audit("not-a-checkpoint.ckpt", "out/audit-idx"), ["not-a-checkpoint.ckpt: is damaged or not a Lethe checkpoint"], "out/audit-idx"),
            new("audit: missing checkpoint", Audit("missing.ckpt", "out/audit-missing"), ["no checkpoint at", "missing.ckpt"], "out/audit-missing"),
            new("audit: checkpoint of no known run, without --run", ["audit", "--checkpoint", "$/ckpt/classifier.ckpt", "--data-dir", "$/data", "--out", "$/out/audit-orphan"],
                ["cannot tell which run", "classifier.ckpt", "give --run"], "out/audit-orphan"),
            new("export: checkpoint of another width", ["export", "--run", "$/run", "--checkpoint", "$/ckpt/wide.ckpt", "--data-dir", "$/data", "--to", "$/out/export-wide/model.pt"],
                ["wide.ckpt", "saved from another configuration"], "out/export-wide"),
            new("unlearn: run whose final.ckpt holds NaN weights", ["unlearn", "--run", "$/run-nan-final", "--data-dir", "$/data", "--epochs", "1"],
                ["run-nan-final/final.ckpt: weight '", "holds NaN/Inf"], "run-nan-final/unlearn-memgp"),
            new("unlearn: run whose final.ckpt is a classifier's", Unlearn("run-classifier-final", "out/unlearn-classifier"),
                ["run-classifier-final/final.ckpt", "cannot be loaded into a 'simclr/small-cnn' model"], "out/unlearn-classifier"),
            new("unlearn: run whose final.ckpt is truncated", Unlearn("run-truncated-final", "out/unlearn-truncated"),
                ["run-truncated-final/final.ckpt: is damaged or not a Lethe checkpoint"], "out/unlearn-truncated"),
            new("unlearn: run whose split.json is truncated", Unlearn("run-truncated-split", "out/unlearn-split"),
                ["run-truncated-split/split.json", "split manifest is not valid JSON"], "out/unlearn-split"),
            new("unlearn: run whose settings.json has a null encoder", Unlearn("run-null-encoder", "out/unlearn-null"),
                ["run-null-encoder/settings.json", "'encoder'"], "out/unlearn-null"),
            new("unlearn: folder that is not a run", Unlearn("data", "out/unlearn-data"), ["data is not a training run: it has no settings.json"], "out/unlearn-data"),

            // Forget lists.
            new("unlearn: forget id out of range", [.. Unlearn("run", "out/forget-range"), "--forget-ids", "$/lists/out-of-range.txt"],
                ["out-of-range.txt: id 5000 is out of range"], "out/forget-range"),
            new("unlearn: forget id listed twice", [.. Unlearn("run", "out/forget-twice"), "--forget-ids", "$/lists/duplicates.txt"],
                ["duplicates.txt: id", "is listed more than once"], "out/forget-twice"),
            new("unlearn: forget id of a non-member", [.. Unlearn("run", "out/forget-non-member"), "--forget-ids", "$/lists/non-member.txt"],
                ["non-member.txt: id", "is not a member of the split"], "out/forget-non-member"),
            new("unlearn: forget-id file with no ids", [.. Unlearn("run", "out/forget-empty"), "--forget-ids", "$/lists/empty.txt"],
                ["empty.txt: no ids to forget"], "out/forget-empty"),
            new("unlearn: forget list naming every member", [.. Unlearn("run", "out/forget-all"), "--forget-list", "$/lists/all-members.txt"],
                ["all-members.txt: forgets every member"], "out/forget-all"),
            new("unlearn: forget list naming a non-member", [.. Unlearn("run", "out/forget-list-non-member"), "--forget-list", "$/lists/non-member.txt"],
                ["non-member.txt line 1", "is a training sample but not a member"], "out/forget-list-non-member"),
            new("unlearn: forget list with no samples", [.. Unlearn("run", "out/forget-list-empty"), "--forget-list", "$/lists/empty.txt"],
                ["empty.txt: names no samples"], "out/forget-list-empty"),
            new("unlearn: both --forget-list and --forget-ids", [.. Unlearn("run", "out/forget-both"), "--forget-list", "$/lists/forget.txt", "--forget-ids", "$/lists/forget.txt"],
                ["give --forget-list or --forget-ids, not both"], "out/forget-both"),
            new("unlearn: missing forget-id file", [.. Unlearn("run", "out/forget-missing"), "--forget-ids", "$/lists/no-such-list.txt"],
                ["forget-id file not found", "no-such-list.txt"], "out/forget-missing"),
            new("data split: --forget-ids naming every member", ["data", "split", .. Data, "--members", "32", "--non-members", "32", "--forget-ids", "$/lists/all-members.txt", "--out", "$/out/split-all/split.json"],
                ["all-members.txt: forgets every member"], "out/split-all"),
            new("audit: forget id that is not an integer", ["audit", "--run", "$/run", "--data-dir", "$/data", "--forget-ids", "$/lists/not-an-integer.txt", "--out", "$/out/audit-not-integer"],
                ["not-an-integer.txt: line 2: 'x7' is not an integer id"], "out/audit-not-integer"),

            // Settings files.
            new("pretrain --config: unknown key", [.. Pretrain, "--config", "$/configs/unknown-key.json", "--out", "$/out/config-unknown"],
                ["unknown-key.json: unknown setting 'lerningRate'"], "out/config-unknown"),
            new("pretrain --config: string where a number belongs", [.. Pretrain, "--config", "$/configs/wrong-type.json", "--out", "$/out/config-type"],
                ["wrong-type.json", "setting 'learningRate' has the wrong type"], "out/config-type"),
            new("pretrain --config: negative learning rate", [.. Pretrain, "--config", "$/configs/negative-lr.json", "--out", "$/out/config-negative"],
                ["learning rate must be positive, not -0.1"], "out/config-negative"),
            new("pretrain --config: null encoder", [.. Pretrain, "--config", "$/configs/null-encoder.json", "--out", "$/out/config-null"],
                ["null-encoder.json", "setting 'encoder'"], "out/config-null"),
            new("pretrain --config: null dataset", ["pretrain", "--method", "simclr", "--preset", "tiny", "--data-dir", "$/data", "--config", "$/configs/null-dataset.json", "--out", "$/out/config-null-dataset"],
                ["null-dataset.json", "setting 'dataset'"], "out/config-null-dataset"),
            new("pretrain --config: not JSON", [.. Pretrain, "--config", "$/configs/not-json.json", "--out", "$/out/config-json"],
                ["not-json.json: is not valid JSON"], "out/config-json"),
            new("pretrain --config: missing file", [.. Pretrain, "--config", "$/configs/no-such.json", "--out", "$/out/config-missing"],
                ["settings file not found", "no-such.json"], "out/config-missing"),

            // Methods and recipes.
            new("pretrain: unknown method", ["pretrain", "--method", "simclear", "--preset", "tiny", .. Data, "--out", "$/out/pretrain-method"], ["unknown method 'simclear'"], "out/pretrain-method"),
            new("pretrain: learning rate so large the loss is NaN", [.. Pretrain, "--lr", "1e30", "--out", "$/out/pretrain-nan-loss"], ["the loss became NaN", "lower the learning rate"], "out/pretrain-nan-loss"),
            new("pretrain --resume: nothing to resume", ["pretrain", "--resume", "--data-dir", "$/data", "--out", "$/out/resume-nothing"], ["nothing to resume in", "resume-nothing"], "out/resume-nothing"),
            new("unlearn: unknown method", [.. Unlearn("run", "out/unlearn-method"), "--method", "forget-it"], ["unknown unlearning method 'forget-it'"], "out/unlearn-method"),

            // Import, export, report.
            new("import: --members names an unknown id", Import("model.pt", "members-unknown.txt", "out/import-members"),
                ["members-unknown.txt line 3", "'5000' is not a sample id"], "out/import-members"),
            new("import: missing --members file", Import("model.pt", "no-such-members.txt", "out/import-no-members"),
                ["sample list not found", "no-such-members.txt"], "out/import-no-members"),
            new("import: .pt file that is not in torch.save's format", Import("text.pt", "forget.txt", "out/import-text"),
                ["text.pt: is not in torch.save's zip format"], "out/import-text"),
            new("import: .pt file holding a list, not a state dict", Import("list.pt", "forget.txt", "out/import-list"),
                ["list.pt", "not a state dict"], "out/import-list"),
            new("import: tensors of no model (PyTorch's outputs.pt)", ["import", "-w", Path.Combine(TestFiles.PyTorchFixtures, "outputs.pt"), .. Data, "--members", "$/lists/forget.txt", "--out", "$/out/import-outputs"],
                ["outputs.pt: no first convolution after mapping with the torchvision layout"], "out/import-outputs"),
            new("import: weights with an unsupported extension", Import("model.onnx", "forget.txt", "out/import-onnx"),
                ["model.onnx: unknown weights format '.onnx'"], "out/import-onnx"),
            new("export: to an unsupported extension", ["export", "--run", "$/run", "--data-dir", "$/data", "--to", "$/out/export-onnx/model.onnx"],
                ["model.onnx: unknown weights format '.onnx'"], "out/export-onnx"),
            new("report: checkpoint without a forget request", ["report", "--unlearned", "$/run/final.ckpt", "--retrained", "$/run", "--data-dir", "$/data", "--out", "$/out/report"],
                ["final.ckpt has no forget request (unlearning.json) beside it"], "out/report"),
        };

        // The model store and its deletion requests.
        string[] StoreInit(string outFolder, params string[] more) => ["store", "init", "--store", $"$/{outFolder}", "--from", "$/run", "--data-dir", "$/data", .. more];
        string[] Add(string store, string list) => ["requests", "add", "--store", $"$/{store}", "--forget-list", $"$/lists/{list}"];
        cases.AddRange(
        [
            new("store init: policy with an unknown key", StoreInit("out/store-unknown", "--policy", "$/configs/policy-unknown-key.json"),
                ["policy-unknown-key.json", "maxForgetAuk"], "out/store-unknown"),
            new("store init: policy with a negative learning rate", StoreInit("out/store-negative", "--policy", "$/configs/policy-negative-lr.json"),
                ["policy-negative-lr.json", "learning rate must be positive"], "out/store-negative"),
            new("store init: policy with a string where a number belongs", StoreInit("out/store-type", "--policy", "$/configs/policy-wrong-type.json"),
                ["policy-wrong-type.json", "is not a valid policy"], "out/store-type"),
            new("store init: into a folder that already holds a store", StoreInit("store"), ["already holds a store"], null),
            new("store init: from a run with NaN weights", ["store", "init", "--store", "$/out/store-nan", "--from", "$/run-nan-final", "--data-dir", "$/data"],
                ["run-nan-final/final.ckpt: weight '", "holds NaN/Inf"], "out/store-nan"),
            new("requests add: forget list naming a non-member", Add("store", "non-member.txt"), ["non-member.txt line 1", "is a training sample but not a member"], null),
            new("requests add: forget list naming an unknown id", Add("store", "out-of-range.txt"), ["out-of-range.txt line 1", "'5000' is not a sample id"], null),
            new("requests add: forget list with a repeat", Add("store", "duplicates.txt"), ["duplicates.txt line 3", "repeats line 1"], null),
            new("requests add: forget list with no samples", Add("store", "empty.txt"), ["empty.txt: names no samples"], null),
            new("requests add: forget list naming every member", Add("store", "all-members.txt"), ["all-members.txt: names every member not yet forgotten"], null),
            new("requests add: a store that does not exist", Add("no-such-store", "request.txt"), ["no store at", "no-such-store"], null),
            new("requests process: a ledger that is not SQLite", ["requests", "process", "--store", "$/store-not-sqlite", "--data-dir", "$/data"],
                ["store-not-sqlite/ledger.db: is not a readable SQLite ledger"], null),
            new("requests process: a store with a missing version", ["requests", "process", "--store", "$/store-missing-version", "--data-dir", "$/data"],
                ["versions/v0000.ckpt is missing"], null),
            new("requests process: a pending list changed after it was added", ["requests", "process", "--store", "$/store-changed-list", "--data-dir", "$/data"],
                ["pending/r0001.list: does not match the SHA-256 recorded when request 1 was added"], null),
            new("requests verify: a damaged key file", ["requests", "verify", "--store", "$/store-bad-key"], ["store.key: has changed: it does not match the SHA-256 recorded when the store was made"], null),
            new("requests show: a request that does not exist", ["requests", "show", "9", "--store", "$/store"], ["no request 9"], null),
        ]);

        // An output folder that cannot be created.
        var (how, parent, problem) = ChmodStopsWrites
            ? ("in a read-only folder (chmod 0500)", "readonly", "permission denied")
            : ("under a regular file (chmod 0500 does not stop root)", "blocker", "blocker is a file, not a folder");
        cases.Add(new($"data split: --out {how}", ["data", "split", .. Data, "--members", "32", "--non-members", "32", "--out", $"$/{parent}/split/split.json"],
            ["cannot create the folder", $"{parent}/split", problem], $"{parent}/split"));
        cases.Add(new($"pretrain: --out {how}", [.. Pretrain, "--out", $"$/{parent}/run"], ["cannot create the folder", $"{parent}/run", problem], $"{parent}/run"));
        cases.Add(new($"audit: --out {how}", ["audit", "--run", "$/run", "--data-dir", "$/data", "--no-linear-probe", "--views", "2", "--out", $"$/{parent}/audit"],
            ["cannot create the folder", $"{parent}/audit", problem], $"{parent}/audit"));
        cases.Add(new($"export: --to {how}", ["export", "--run", "$/run", "--data-dir", "$/data", "--to", $"$/{parent}/export/model.safetensors"],
            ["cannot create the folder", $"{parent}/export", problem], $"{parent}/export"));
        return cases;
    }

    public static TheoryData<string> Names()
    {
        var names = new TheoryData<string>();
        foreach (var c in Cases) names.Add(c.Name);
        return names;
    }

    [Fact]
    public void There_are_at_least_28_cases_with_distinct_names()
    {
        Assert.True(Cases.Count >= 28, $"{Cases.Count} cases");
        Assert.Equal(Cases.Count, Cases.Select(c => c.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Fails_with_one_line_and_writes_nothing(string name)
    {
        var bad = Cases.Single(c => c.Name == name);
        var args = bad.Args.Select(a => a.StartsWith("$/", StringComparison.Ordinal) ? fixture.P(a[2..]) : a).Concat(["--threads", "1"]).ToArray();
        var outFolder = bad.Out is null ? null : fixture.P(bad.Out);
        var outExisted = outFolder is not null && Path.Exists(outFolder);
        var before = Snapshot(fixture.Root);

        var (code, output, error) = CliRunner.Run(args);

        var message = error.Trim();
        log.WriteLine($"exit {code}: {message.Replace(fixture.Root, "$", StringComparison.Ordinal)}");
        Assert.True(code == 1, $"exit code {code}\nstderr: {error}\nstdout: {output}");
        Assert.Single(message.Split('\n'));
        Assert.StartsWith("lethe: error: ", message);
        foreach (var expected in bad.Expect) Assert.Contains(expected, message);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotMatch(@"[A-Za-z]Exception\b", error);
        if (outFolder is not null) Assert.Equal(outExisted, Path.Exists(outFolder));
        Assert.Equal(before, Snapshot(fixture.Root));
        Assert.Empty(Directory.EnumerateFiles(fixture.Root, "*.tmp", SearchOption.AllDirectories));
    }

    /// <summary>Every folder and file under <paramref name="root"/> (hidden ones too), each file with its size and SHA-256, one per line.</summary>
    static string Snapshot(string root)
    {
        var lines = new List<string>();
        foreach (var entry in new DirectoryInfo(root).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, entry.FullName);
            lines.Add(entry is FileInfo file ? $"{relative} {file.Length} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file.FullName)))}" : relative + "/");
        }
        lines.Sort(StringComparer.Ordinal);
        return string.Join("\n", lines);
    }

    static bool ProbeChmod()
    {
        if (OperatingSystem.IsWindows()) return false;
        var probe = Path.Combine(Path.GetTempPath(), "lethe-chmod-probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(probe);
        try
        {
            File.SetUnixFileMode(probe, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            try
            {
                Directory.CreateDirectory(Path.Combine(probe, "sub"));
                return false;
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                return true;
            }
        }
        finally
        {
            File.SetUnixFileMode(probe, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.Delete(probe, recursive: true);
        }
    }
}
