using Lethe.Data;

namespace Lethe.Tests;

[Collection(TorchThreads.Name)]
public class CliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void HelpListsTheDataCommands()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("lethe [command] [options]", output);
        Assert.Contains("data", output);
    }

    [Fact]
    public void DoctorLoadsTorchAndAppliesThreads()
    {
        var (code, output, error) = Run("doctor", "--threads", "1");
        Assert.True(code == 0, error);
        Assert.Matches(@"double backward\s+│ ok", output);
        Assert.Matches(@"threads\s+│ 1 of \d+ cores", output);
        var (badCode, _, badError) = Run("doctor", "--device", "tpu");
        Assert.Equal(1, badCode);
        Assert.Contains("unknown device 'tpu'", badError);
    }

    [Fact]
    public void DataInfoPrintsCountsShapeAndPerClassCounts()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 30, testCount: 20, size: 6);
        var (code, output, error) = Run("data", "info", "--dataset", "mnist", "--data-dir", dir.Path);
        Assert.True(code == 0, error);
        Assert.Contains("1 x 6 x 6", output);
        Assert.Matches(@"│ train\s+│ 30\s+│", output);
        Assert.Matches(@"│ 9\s+│ 9\s+│\s+3 │\s+2 │", output);
    }

    [Fact]
    public void DataInfoJsonIsParseable()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 30, testCount: 20, size: 6);
        var (code, output, _) = Run("data", "info", "--dataset", "mnist", "--data-dir", dir.Path, "--json");
        Assert.Equal(0, code);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal(20, json.RootElement.GetProperty("splits")[1].GetProperty("count").GetInt32());
    }

    [Fact]
    public void MissingDataIsOneLineAndExitCodeOne()
    {
        var (code, output, error) = Run("data", "info", "--dataset", "svhn", "--data-dir", "/nonexistent/svhn");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Single(error.Trim().Split('\n'));
        Assert.StartsWith("lethe: error: svhn not found at /nonexistent/svhn", error);
    }

    [Fact]
    public void CorruptDataIsOneLineNamingTheFile()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 30, testCount: 20, size: 6);
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte.gz"), [1, 2, 3]);
        var (code, _, error) = Run("data", "info", "--dataset", "mnist", "--data-dir", dir.Path);
        Assert.Equal(1, code);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Contains("t10k-labels-idx1-ubyte.gz", error);
    }

    [Fact]
    public void UnknownOptionIsOneLineError()
    {
        var (code, _, error) = Run("data", "info", "--bogus");
        Assert.Equal(1, code);
        Assert.Equal("lethe: error: Unrecognized command or argument '--bogus'. (see `lethe data info --help`)", error.Trim());
    }

    [Fact]
    public void DataSplitWritesALoadableManifest()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 200, testCount: 50, size: 4);
        var (code, output, error) = Run("data", "split", "--dataset", "mnist", "--data-dir", dir.Path,
            "--members", "60", "--non-members", "30", "--forget-fraction", "0.25", "--seed", "4", "--out", dir.File("split.json"));
        Assert.True(code == 0, error);
        Assert.Contains("Wrote", output);
        var split = MembershipSplit.Load(dir.File("split.json"));
        Assert.Equal((60, 15, 45, 30, 60, 30), (split.Members.Length, split.Forget.Length, split.Retain.Length, split.NonMembers.Length, split.ShadowMembers.Length, split.ShadowNonMembers.Length));
        Assert.Equal(4, split.Settings.Seed);
    }

    [Fact]
    public void BadForgetIdsFailWithoutWritingAManifest()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 200, testCount: 50, size: 4);
        File.WriteAllText(dir.File("forget.txt"), "5000\n");
        var (code, _, error) = Run("data", "split", "--dataset", "mnist", "--data-dir", dir.Path,
            "--members", "60", "--non-members", "30", "--forget-ids", dir.File("forget.txt"), "--out", dir.File("split.json"));
        Assert.Equal(1, code);
        Assert.Contains("id 5000 is out of range", error);
        Assert.False(File.Exists(dir.File("split.json")));
    }

    [Fact]
    public void PretrainRunsTinyAndGuardsItsRunFolder()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 40, size: 12);
        string[] common = ["pretrain", "--method", "simclr", "--preset", "tiny", "--dataset", "mnist", "--data-dir", dir.Path, "--out", dir.File("run")];
        var (code, output, error) = Run([.. common, "--epochs", "2"]);
        Assert.True(code == 0, error);
        Assert.Contains("completed", output);
        Assert.Contains("linear probe accuracy", output);
        Assert.True(File.Exists(dir.File("run/final.ckpt")));

        var (again, _, againError) = Run(common);
        Assert.Equal(1, again);
        Assert.Contains("already holds a run", againError);

        var (resumeOverride, _, overrideError) = Run("pretrain", "--resume", "--epochs", "5", "--out", dir.File("run"), "--data-dir", dir.Path);
        Assert.Equal(1, resumeOverride);
        Assert.Contains("drop --epochs", overrideError);

        var (finished, _, finishedError) = Run("pretrain", "--resume", "--out", dir.File("run"), "--data-dir", dir.Path);
        Assert.Equal(1, finished);
        Assert.Contains("already finished", finishedError);

        var (forced, _, forcedError) = Run([.. common, "--force", "--epochs", "1"]);
        Assert.True(forced == 0, forcedError);
        Assert.Single(Directory.GetFiles(dir.File("run/checkpoints")));
    }

    [Fact]
    public void PretrainRejectsBadSettingsInOneLine()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.json"), "{\"encoder\": {\"widht\": 3}}");
        var (code, _, error) = Run("pretrain", "--preset", "tiny", "--config", dir.File("bad.json"), "--out", dir.File("run"));
        Assert.Equal(1, code);
        Assert.Contains("unknown setting 'encoder.widht'", error);
        var (lrCode, _, lrError) = Run("pretrain", "--preset", "tiny", "--lr", "-1", "--out", dir.File("run2"));
        Assert.Equal(1, lrCode);
        Assert.Contains("learning rate must be positive", lrError);
    }

    [Fact]
    public void UnlearnTakesAPretrainingRunAndWritesTheUnlearnedCheckpoint()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 40, size: 12);
        var (code, _, error) = Run("pretrain", "--method", "moco", "--preset", "tiny", "--dataset", "mnist", "--data-dir", dir.Path, "--out", dir.File("run"));
        Assert.True(code == 0, error);
        var (unlearn, output, unlearnError) = Run("unlearn", "--run", dir.File("run"), "--data-dir", dir.Path, "--epochs", "2", "--batch-size", "4");
        Assert.True(unlearn == 0, unlearnError);
        Assert.Contains("forget vs non-members", output);
        Assert.True(File.Exists(dir.File("run/unlearn-memgp/unlearned.ckpt")));
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("run/unlearn-memgp/unlearning.json")));
        Assert.Equal(2, json.RootElement.GetProperty("result").GetProperty("epochs").GetArrayLength());
        var (bad, _, badError) = Run("unlearn", "--run", dir.File("run"), "--data-dir", dir.Path, "--gamma", "1");
        Assert.Equal(1, bad);
        Assert.Contains("no L_Norm", badError);

        // Without --epochs and --lr, the method's built-in tuned defaults apply.
        var (tuned, _, tunedError) = Run("unlearn", "--run", dir.File("run"), "--data-dir", dir.Path, "--batch-size", "4", "--out", dir.File("tuned"));
        Assert.True(tuned == 0, tunedError);
        using var tunedJson = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("tuned/unlearning.json")));
        var used = tunedJson.RootElement.GetProperty("settings");
        var defaults = Lethe.Unlearning.UnlearningMethods.Defaults("memgp", classifier: false);
        Assert.Equal(defaults.Epochs, used.GetProperty("epochs").GetInt32());
        Assert.Equal(defaults.LearningRate, used.GetProperty("learningRate").GetDouble());
    }

    [Fact]
    public void UnlearnRunsTheTargetedMethodWithItsOwnDefaults()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 40, size: 12);
        var (code, _, error) = Run("train", "--preset", "tiny", "--dataset", "mnist", "--data-dir", dir.Path, "--out", dir.File("run"));
        Assert.True(code == 0, error);
        var (unlearn, output, unlearnError) = Run("unlearn", "--run", dir.File("run"), "--data-dir", dir.Path, "--method", "targeted", "--epochs", "2");
        Assert.True(unlearn == 0, unlearnError + output);
        Assert.Contains("Targeted (Lethe)", output);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("run/unlearn-targeted/unlearning.json")));
        var used = json.RootElement.GetProperty("settings");
        var defaults = Lethe.Unlearning.UnlearningMethods.Defaults("targeted", classifier: true);
        Assert.Equal(defaults.BatchSize, used.GetProperty("batchSize").GetInt32());
        Assert.Equal(defaults.LearningRate, used.GetProperty("learningRate").GetDouble());
        Assert.Equal(0, used.GetProperty("alpha").GetDouble());
        Assert.Equal("frozen", used.GetProperty("batchNorm").GetString());
        Assert.True(used.GetProperty("perSampleStop").GetBoolean());
        Assert.True(File.Exists(dir.File("run/unlearn-targeted/unlearned.ckpt")));
        var (bad, _, badError) = Run("unlearn", "--run", dir.File("run"), "--data-dir", dir.Path, "--method", "targeted", "--alpha", "0", "--beta", "0", "--anchor-weight", "0");
        Assert.Equal(1, bad);
        Assert.Contains("every loss term is switched off", badError);
    }
}
