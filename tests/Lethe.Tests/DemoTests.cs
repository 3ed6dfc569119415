namespace Lethe.Tests;

[Collection(TorchThreads.Name)]
public class DemoTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void TheDemoRunsEndToEndAtATinySizeAndReusesItsRuns()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 80, size: 12);
        string[] args = ["demo", "--preset", "tiny", "--data-dir", dir.Path, "--out", dir.File("demo")];
        var (code, output, error) = Run(args);
        Assert.True(code == 0, error + output);
        foreach (var stage in new[] { "pretrain", "audit original", "unlearn", "audit unlearned", "retrain", "audit retrained", "report" })
            Assert.Contains(stage, output);

        var markdown = File.ReadAllText(dir.File("demo/report.md"));
        var html = File.ReadAllText(dir.File("demo/report.html"));
        foreach (var section in new[] { "## Targets", "## Before and after unlearning", "## Every attack", "## Per-sample diagnostics", "## Figures", "## Time", "## Settings" })
        {
            Assert.Contains(section, markdown);
            Assert.Contains(section[3..], html);
        }
        foreach (var figure in new[] { "similarity-histograms", "roc", "feature-space", "tsne" })
        {
            Assert.Contains($"figures/{figure}.png", markdown);
            Assert.True(new FileInfo(dir.File($"demo/figures/{figure}.png")).Length > 1000);
        }
        // Self-contained: the page embeds every figure and links to no file.
        Assert.Equal(4, html.Split("src=\"data:image/png;base64,").Length - 1);
        Assert.DoesNotContain("figures/", html);
        Assert.Contains("<table>", html);
        foreach (var row in new[] { "MIA accuracy (forget set)", "MIA recall", "MIA precision", "MIA AUC", "TPR at 1% FPR", "model accuracy (kNN)" })
            Assert.Contains(row, markdown);
        foreach (var model in new[] { "original", "unlearned", "retrained" })
            Assert.True(File.Exists(dir.File($"demo/audits/{model}.json")));
        // The demo unlearns with targeted unlearning and its built-in tuned defaults, not the hand-set ones.
        using (var demoSettings = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("demo/demo-settings.json"))))
        {
            var unlearning = demoSettings.RootElement.GetProperty("settings").GetProperty("unlearning");
            Assert.Equal("targeted", unlearning.GetProperty("method").GetString());
            var tuned = Lethe.Unlearning.UnlearningMethods.Defaults("targeted", classifier: false);
            Assert.Equal(tuned.LearningRate, unlearning.GetProperty("learningRate").GetDouble());
            Assert.Equal(tuned.Epochs, unlearning.GetProperty("epochs").GetInt32());
        }
        using (var demo = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("demo/demo.json"))))
        {
            Assert.All(demo.RootElement.GetProperty("timings").EnumerateArray(), t => Assert.False(t.GetProperty("cached").GetBoolean()));
        }

        // A second run reuses both finished training runs.
        var (again, againOutput, againError) = Run(args);
        Assert.True(again == 0, againError);
        Assert.DoesNotContain("epoch 1 loss", againOutput);
        using var second = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("demo/demo.json")));
        var cached = second.RootElement.GetProperty("timings").EnumerateArray().Where(t => t.GetProperty("cached").GetBoolean()).Select(t => t.GetProperty("stage").GetString());
        Assert.Equal(["pretrain", "retrain"], cached);
    }

    [Fact]
    public void RetrainAndShadowReferencesReuseTheRunsRecipeAndSplit()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 80, size: 12);
        var (code, _, error) = Run("pretrain", "--method", "simclr", "--preset", "tiny", "--dataset", "mnist", "--data-dir", dir.Path, "--out", dir.File("run"));
        Assert.True(code == 0, error);
        var (retrain, output, retrainError) = Run("pretrain", "--retrain-of", dir.File("run"), "--data-dir", dir.Path);
        Assert.True(retrain == 0, retrainError);
        Assert.Contains("26 retain", output); // 32 members minus a forget set of 6
        var settings = Lethe.Training.TrainingRun.ReadSettings(dir.File("run/retrain"));
        Assert.Equal("retain", settings.TrainOn);
        Assert.Equal(File.ReadAllText(dir.File("run/split.json")), File.ReadAllText(dir.File("run/retrain/split.json")));

        var (mixed, _, mixedError) = Run("pretrain", "--shadow-of", dir.File("run"), "--epochs", "3", "--data-dir", dir.Path);
        Assert.Equal(1, mixed);
        Assert.Contains("drop --epochs", mixedError);
        var (shadow, _, shadowError) = Run("pretrain", "--shadow-of", dir.File("run"), "--data-dir", dir.Path);
        Assert.True(shadow == 0, shadowError);

        var (audit, auditOutput, auditError) = Run("audit", "--run", dir.File("run"), "--checkpoint", dir.File("run/retrain/final.ckpt"), "--shadow", dir.File("run/shadow"),
            "--views", "3", "--no-linear-probe", "--data-dir", dir.Path);
        Assert.True(audit == 0, auditError);
        Assert.Contains("EncoderMI threshold", auditOutput);
        Assert.Contains("shadow encoder", File.ReadAllText(dir.File("run/retrain/audit/audit.md")));

        var (notShadow, _, notShadowError) = Run("audit", "--run", dir.File("run"), "--shadow", dir.File("run/retrain"), "--data-dir", dir.Path);
        Assert.Equal(1, notShadow);
        Assert.Contains("not a shadow run", notShadowError);
        var (wrong, _, wrongError) = Run("audit", "--run", dir.File("run"), "--checkpoint", dir.File("missing.ckpt"), "--data-dir", dir.Path);
        Assert.Equal(1, wrong);
        Assert.Contains("no checkpoint", wrongError);
    }

    [Fact]
    public void TheDemoRefusesAnUnlearningMethodForClassifiersOnly()
    {
        using var dir = new TempDir();
        var (code, _, error) = Run("demo", "--unlearning", "random-labels", "--preset", "tiny", "--out", dir.File("demo"));
        Assert.Equal(1, code);
        Assert.Contains("classifiers only", error);
        Assert.False(Directory.Exists(dir.File("demo")));
    }
}
