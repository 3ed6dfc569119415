using Lethe.Storage;
using SkiaSharp;

namespace Lethe.Tests;

/// <summary>The own-model workflow on the command line: an image folder, a PyTorch encoder, a forget list, unlearning, export.</summary>
[Collection(TorchThreads.Name)]
public sealed class OwnModelCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run([.. args, "--threads", "1"]);

    [Fact]
    public void Folder_options_are_refused_for_other_data_sets_and_a_folder_needs_its_root()
    {
        var (code, _, error) = Run("data", "info", "--image-size", "16");
        Assert.Equal(1, code);
        Assert.Contains("--image-size applies to --dataset folder only", error);
        (code, _, error) = Run("data", "info", "--dataset", "folder");
        Assert.Equal(1, code);
        Assert.Contains("needs --data-dir", error);
        using var dir = new TempDir();
        (code, _, error) = Run("data", "info", "--dataset", "folder", "--data-dir", dir.Path, "--test-dir", dir.Path, "--test-fraction", "0.5");
        Assert.Equal(1, code);
        Assert.Contains("not both", error);
    }

    [Fact]
    public void Import_unlearn_by_path_and_export()
    {
        using var dir = new TempDir();
        for (var c = 0; c < 2; c++)
        {
            for (var i = 0; i < 16; i++)
                ImageFolderTests.WriteImage(dir.File($"photos/{(c == 0 ? "cats" : "dogs")}/{i:D2}.png"), 32, 32, (x, y) => new SKColor((byte)(x * 8 + i), (byte)(y * 8 + c * 90), (byte)(i * 15), 255));
        }
        var folder = new[] { "--dataset", "folder", "--data-dir", dir.File("photos"), "--test-fraction", "0.4" };
        var (code, ids, error) = Run(["data", "info", .. folder, "--ids"]);
        Assert.True(code == 0, error);
        var train = ids.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).Where(f => f[1] == "train").Select(f => f[0]).ToList();
        var test = ids.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).Where(f => f[1] == "test").Select(f => f[0]).ToList();
        Assert.True(train.Count > 10 && test.Count > 2, ids);
        File.WriteAllLines(dir.File("members.txt"), train);
        File.WriteAllLines(dir.File("forget.txt"), [train[0], train[3], train[5]]);
        var weights = Path.Combine(TestFiles.PyTorchFixtures, "resnet18_w4.pt");

        // A forget list naming a test image is refused before anything is written.
        File.WriteAllLines(dir.File("bad-forget.txt"), [train[0], test[0]]);
        (code, _, error) = Run(["import", "-w", weights, .. folder, "--members", dir.File("members.txt"), "--forget-list", dir.File("bad-forget.txt"), "--out", dir.File("bad")]);
        Assert.Equal(1, code);
        Assert.Contains("bad-forget.txt line 2", error);
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(Directory.Exists(dir.File("bad")));

        (code, var output, error) = Run(["import", "-w", weights, .. folder, "--members", dir.File("members.txt"), "--forget-list", dir.File("forget.txt"), "--preset", "tiny", "--out", dir.File("run")]);
        Assert.True(code == 0, error);
        Assert.Contains("120 loaded of 120 read", output);
        var split = Data.MembershipSplit.Load(dir.File("run/split.json"));
        Assert.Equal(3, split.Forget.Length);
        Assert.Equal(train.Count, split.Members.Length);

        (code, output, error) = Run("unlearn", "--run", dir.File("run"), "--method", "finetune", "--epochs", "1", "--output", "backbone", "--forget-list", dir.File("forget.txt"), "--out", dir.File("run/forgot"));
        Assert.True(code == 0, error + output);
        (code, output, error) = Run("export", "--checkpoint", dir.File("run/forgot/unlearned.ckpt"), "--to", dir.File("forgot.safetensors"));
        Assert.True(code == 0, error);
        Assert.Contains("torchvision layout; read back and identical", output);
        // The demo's report for this request, against a reference "retrained" elsewhere and imported on the retained files.
        File.WriteAllLines(dir.File("retained.txt"), train.Except([train[0], train[3], train[5]]));
        (code, _, error) = Run("report", "--unlearned", dir.File("run/forgot/unlearned.ckpt"), "--retrained", dir.File("run"), "--no-linear-probe");
        Assert.Equal(1, code);
        Assert.Contains("was not trained on exactly the", error);
        (code, _, error) = Run(["import", "-w", weights, .. folder, "--members", dir.File("retained.txt"), "--preset", "tiny", "--out", dir.File("retrained")]);
        Assert.True(code == 0, error);
        (code, output, error) = Run("report", "--unlearned", dir.File("run/forgot/unlearned.ckpt"), "--retrained", dir.File("retrained"), "--no-linear-probe", "--out", dir.File("report"));
        Assert.True(code == 0, error + output);
        var report = File.ReadAllText(dir.File("report/report.md"));
        Assert.StartsWith("# Lethe report: forgetting 3 of", report);
        Assert.Contains("is imported from resnet18_w4.pt", report);
        Assert.Contains("with Fine-tune", report, StringComparison.OrdinalIgnoreCase);
        Assert.True(File.Exists(dir.File("report/report.html")));

        var exported = StateDictFile.Read(dir.File("forgot.safetensors"));
        Assert.Contains(exported, p => p.Key == "layer4.1.bn2.running_var");
        Assert.DoesNotContain(exported, p => p.Key.StartsWith("projector", StringComparison.Ordinal));
    }
}
