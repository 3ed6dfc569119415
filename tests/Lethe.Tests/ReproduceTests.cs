using System.Text.Json;
using Lethe.Audits;
using Lethe.Experiments;
using Lethe.Reports;
using Lethe.Unlearning;

namespace Lethe.Tests;

[Collection(TorchThreads.Name)]
public class ReproduceTests
{
    static readonly string[] TableIds =
        ["table-ii", "table-iii", "table-iv", "table-v", "table-vi", "table-vii", "methods-encoder", "methods-classifier", "methods-encoder-attacks", "methods-classifier-attacks", "targeted"];

    /// <summary>A Markdown table is well formed when every line has the header's number of cells and the second line is the separator.</summary>
    static void AssertWellFormed(string markdown, int columns)
    {
        var lines = markdown.Split('\n').Where(l => l.StartsWith('|')).ToArray();
        Assert.True(lines.Length >= 3, markdown);
        Assert.All(lines, l => Assert.Equal(columns + 1, l.Replace("\\|", "", StringComparison.Ordinal).Count(c => c == '|')));
        Assert.All(lines[1].Trim('|').Split('|'), c => Assert.Matches("^ -{3}:? $", c));
    }

    [Fact]
    public void EveryTableRunsEndToEndAtATinySizeWithTwoSeedsAndASecondRunMeasuresNothing()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 400, testCount: 100, size: 12);
        string[] args = ["reproduce", "--scale", "tiny", "--seed", "0", "--seeds", "2", "--lira", "4", "--data-dir", dir.Path, "--out", dir.File("out")];
        var (code, output, error) = CliRunner.Run(args);
        Assert.True(code == 0, error + output);

        // LiRA: a row before unlearning and one per method, for the encoder and the classifier, on the first seed.
        using (var lira = JsonDocument.Parse(File.ReadAllText(dir.File("out/tables/lira.json"))))
        {
            var rows = lira.RootElement.GetProperty("rows").EnumerateArray().ToArray();
            Assert.Equal(2 + UnlearningMethods.For(classifier: false).Count() + UnlearningMethods.For(classifier: true).Count(), rows.Length);
            Assert.Equal("nothing unlearned", rows[0][1].GetProperty("text").GetString());
            foreach (var row in rows)
            {
                Assert.True(int.Parse(row[2].GetProperty("text").GetString()!) > 0);
                Assert.True(int.Parse(row[3].GetProperty("text").GetString()!) > 0);
                foreach (var column in new[] { 4, 5, 6 }) Assert.InRange(row[column].GetProperty("values")[0].GetDouble(), 0, 1);
            }
            Assert.True(rows[1][8].GetProperty("values")[0].GetDouble() > 0);
        }
        Assert.True(File.Exists(dir.File("out/lira/seed-0/fashion-mnist/moco/ref-03/memgp.json")));
        Assert.Contains("## LiRA", File.ReadAllText(dir.File("out/report.md")));

        foreach (var id in TableIds)
        {
            var markdown = File.ReadAllText(dir.File($"out/tables/{id}.md"));
            using var json = JsonDocument.Parse(File.ReadAllText(dir.File($"out/tables/{id}.json")));
            var columns = json.RootElement.GetProperty("columns").GetArrayLength();
            var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToArray();
            Assert.NotEmpty(rows);
            Assert.All(rows, r => Assert.Equal(columns, r.GetArrayLength()));
            AssertWellFormed(markdown, columns);
            // Every numeric cell holds one finite value per seed (two in the headline tables, one in tables III to VI), except the time of
            // models no deletion produced.
            var seeds = id is "table-iii" or "table-iv" or "table-v" or "table-vi" ? 1 : 2;
            foreach (var row in rows)
            {
                var label = row[0].GetProperty("text").GetString();
                var cells = row.EnumerateArray().Select((c, i) => (c, i)).Where(x => x.c.GetProperty("format").GetString() != "text");
                foreach (var (cell, i) in cells)
                {
                    var timeOfNoRun = (id is "methods-encoder" or "methods-classifier" && i >= 12 && label is "original" or "SISA, before deletion")
                        || (id == "targeted" && i == 8 && row[1].GetProperty("text").GetString() == "retrained (exact)");
                    if (timeOfNoRun) Assert.Equal("–", cell.GetProperty("text").GetString());
                    else Assert.All(cell.GetProperty("values").EnumerateArray(), v => Assert.True(double.IsFinite(v.GetDouble()), $"{id} {label} column {i}"));
                    if (!timeOfNoRun) Assert.Equal(seeds, cell.GetProperty("values").GetArrayLength());
                }
            }
        }
        using (var ii = JsonDocument.Parse(File.ReadAllText(dir.File("out/tables/table-ii.json"))))
            Assert.Equal(["before", "after unlearning", "retrained"], ii.RootElement.GetProperty("rows").EnumerateArray().Select(r => r[1].GetProperty("text").GetString()));
        using (var vi = JsonDocument.Parse(File.ReadAllText(dir.File("out/tables/table-vi.json"))))
            Assert.Equal(["2", "3", "6", "10", "13", "16"], vi.RootElement.GetProperty("rows").EnumerateArray().Select(r => r[0].GetProperty("text").GetString()));
        using (var encoderMethods = JsonDocument.Parse(File.ReadAllText(dir.File("out/tables/methods-encoder.json"))))
        {
            var labels = encoderMethods.RootElement.GetProperty("rows").EnumerateArray().Select(r => r[0].GetProperty("text").GetString()).ToArray();
            foreach (var method in UnlearningMethods.For(classifier: false)) Assert.Contains(UnlearningMethods.DisplayName(method), labels);
            Assert.DoesNotContain(UnlearningMethods.DisplayName("random-labels"), labels);
        }
        using (var methods = JsonDocument.Parse(File.ReadAllText(dir.File("out/tables/methods-classifier.json"))))
        {
            var labels = methods.RootElement.GetProperty("rows").EnumerateArray().Select(r => r[0].GetProperty("text").GetString()).ToArray();
            Assert.Contains("SISA (exact)", labels);
            // Every registered method for classifiers has its row, under its registered label.
            foreach (var method in UnlearningMethods.For(classifier: true)) Assert.Contains(UnlearningMethods.DisplayName(method), labels);
            Assert.Contains("random labels", labels);
            // A gap is the method's value minus the retrained model's.
            JsonElement Row(string label) => methods.RootElement.GetProperty("rows").EnumerateArray().First(r => r[0].GetProperty("text").GetString() == label);
            double[] Values(JsonElement row, int column) => [.. row[column].GetProperty("values").EnumerateArray().Select(v => v.GetDouble())];
            var (retrained, memgp) = (Row("retrained (exact)"), Row("MemGP (paper, optimized)"));
            Assert.Equal(Values(memgp, 10).Zip(Values(retrained, 10), (m, r) => m - r), Values(memgp, 11));
            Assert.Equal(Values(retrained, 12).Zip(Values(memgp, 12), (r, m) => r / m), Values(memgp, 13));
            // The retrained model compared with itself: every KS statistic 0, a match on both seeds.
            foreach (var column in new[] { 4, 5, 6 }) Assert.Equal([0.0, 0.0], Values(retrained, column));
            Assert.Equal("2/2", retrained[9].GetProperty("text").GetString());
            Assert.Contains("retrained again (exact)", labels);
        }

        using (var targeted = JsonDocument.Parse(File.ReadAllText(dir.File("out/tables/targeted.json"))))
        {
            var rows = targeted.RootElement.GetProperty("rows").EnumerateArray().ToArray();
            // Four rows for each of MoCo, SimCLR, BYOL and the classifier; every row but the retrained model's names the targets it misses, or none.
            Assert.Equal(16, rows.Length);
            Assert.Equal(["MoCo", "SimCLR", "BYOL", "classifier"], rows.Select(r => r[0].GetProperty("text").GetString()).Distinct());
            Assert.All(rows.Where(r => r[1].GetProperty("text").GetString() != "retrained (exact)"), r => Assert.NotEqual("–", r[9].GetProperty("text").GetString()));
            Assert.Contains(rows, r => r[1].GetProperty("text").GetString() == "Targeted, 3 requests");
        }

        var report = File.ReadAllText(dir.File("out/report.md"));
        var html = File.ReadAllText(dir.File("out/report.html"));
        foreach (var title in new[] { "Table II", "Table III", "Table IV", "Table V", "Table VI", "Table VII", "Every unlearning method on one encoder", "Every unlearning method on one classifier", "Appendix: every attack" })
        {
            Assert.Contains("## " + title, report);
            Assert.Contains(title, html);
        }
        Assert.Contains("*Paper:*", report);
        foreach (var figure in new[] { "table-ii-roc", "table-vi-sizes", "methods-encoder-tradeoff", "methods-classifier-tradeoff" })
            Assert.True(new FileInfo(dir.File($"out/figures/{figure}.png")).Length > 1000, figure);
        Assert.Equal(4, html.Split("src=\"data:image/png;base64,").Length - 1);
        Assert.True(File.Exists(dir.File("out/reproduce-settings.json")));
        Assert.True(File.Exists(dir.File("out/audits/seed-0/fashion-mnist/moco/forget-20pct/memgp.json")));
        var scores = MembershipScores.Read(dir.File("out/audits/seed-1/fashion-mnist/classifier/forget-20pct/memgp.scores.csv.gz"));
        Assert.Equal(["logits/confidence", "logits/entropy", "logits/loss", "logits/model-based"], scores.Attacks.Select(a => a.Attack));

        // Everything is cached: the second run trains and measures nothing and writes the same tables.
        var first = TableIds.Append("lira").ToDictionary(id => id, id => File.ReadAllText(dir.File($"out/tables/{id}.md")));
        var (again, againOutput, againError) = CliRunner.Run(args);
        Assert.True(again == 0, againError);
        Assert.Contains("Experiments: 0 measured now", againOutput);
        foreach (var stage in new[] { "pretrain ", "retrain ", "train the classifier", "SISA: train", "unlearn ", "LiRA: score", "LiRA: unlearn" })
            Assert.DoesNotContain(stage, againOutput);
        foreach (var id in TableIds.Append("lira")) Assert.Equal(first[id], File.ReadAllText(dir.File($"out/tables/{id}.md")));
    }

    [Fact]
    public void SeveralSeedsShowMeanAndSpreadAndADamagedCellIsMeasuredAgain()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 400, testCount: 100, size: 12);
        string[] args = ["reproduce", "--scale", "tiny", "--only", "v", "--seeds", "2", "--ablation-seeds", "2", "--threads", "1", "--data-dir", dir.Path, "--out", dir.File("out")];
        var (code, output, error) = CliRunner.Run(args);
        Assert.True(code == 0, error + output);
        var table = File.ReadAllText(dir.File("out/tables/table-v.md"));
        Assert.Contains(" ± ", table);
        Assert.False(File.Exists(dir.File("out/tables/table-ii.md")));
        Assert.True(Directory.Exists(dir.File("out/runs/seed-1/fashion-mnist/moco/pretrain")));

        File.WriteAllText(dir.File("out/cells/seed-1/fashion-mnist/moco/forget-20pct/memgp-l0.json"), "{ not json");
        var (again, againOutput, againError) = CliRunner.Run(args);
        Assert.True(again == 0, againError);
        Assert.Contains("Experiments: 1 measured now", againOutput);
        Assert.Equal(table, File.ReadAllText(dir.File("out/tables/table-v.md")));
    }

    [Theory]
    [InlineData("--only", "viii", "unknown table 'viii'")]
    [InlineData("--scale", "huge", "unknown scale 'huge'")]
    [InlineData("--seeds", "0", "seeds must be at least 1")]
    [InlineData("--lira", "2", "LiRA needs at least 4 reference models")]
    [InlineData("--datasets", "imagenet", "unknown data set 'imagenet'")]
    public void BadSettingsGiveAOneLineError(string option, string value, string message)
    {
        using var dir = new TempDir();
        var (code, _, error) = CliRunner.Run("reproduce", option, value, "--out", dir.File("out"));
        Assert.Equal(1, code);
        Assert.Contains(message, error);
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void TableValuesShowTheMeanAndItsConfidenceInterval()
    {
        Assert.Equal("0.500", TableValue.Numbers([0.5], "number").ToString());
        // mean 0.6, sample standard deviation 0.1414, 95% half-width 12.706 * 0.1414 / sqrt(2) = 1.2706
        Assert.Equal("0.600 ± 1.271", TableValue.Numbers([0.5, 0.7], "number").ToString());
        Assert.Equal("60.0% ± 127.1%", TableValue.Numbers([0.5, 0.7], "percent").ToString());
        Assert.Equal("+0.010", TableValue.Numbers([0.01], "signed").ToString());
        Assert.Equal("-2.5%", TableValue.Numbers([-0.025], "signed-percent").ToString());
        Assert.Equal("12.5×", TableValue.Numbers([12.5], "ratio").ToString());
        Assert.Equal("–", TableValue.Numbers(null, "percent").ToString());
        Assert.Equal("NaN", TableValue.Numbers([double.NaN], "number").ToString());

        var table = new ResultTable("t", "T", "caption", ["name", "gap"]);
        table.Add(TableValue.Text("a"), TableValue.Numbers([0.01], "signed"));
        table.Add(TableValue.Text("b"), TableValue.Numbers(null, "signed"));
        Assert.Equal("| name | gap |\n| --- | ---: |\n| a | +0.010 |\n| b | – |\n", table.Markdown());
        Assert.Throws<ArgumentException>(() => table.Add(TableValue.Text("only one cell")));
    }

    [Fact]
    public void HandSetClassifierDefaultsTakeSmallerStepsAndTheDefaultsAreTheBuiltInTunedOnes()
    {
        foreach (var method in UnlearningMethods.For(classifier: true))
        {
            var encoder = UnlearningMethods.UntunedDefaults(method, classifier: false);
            var classifier = UnlearningMethods.UntunedDefaults(method, classifier: true);
            encoder.Validate();
            classifier.Validate();
            Assert.Equal(method, classifier.Method);
            Assert.True(classifier.LearningRate <= encoder.LearningRate, method);
        }
        // The defaults unlearn and demo start from: the hand-set ones with the tuned step size and epochs.
        foreach (var tuned in TunedDefaults.BuiltIn!.Methods)
        {
            var classifier = tuned.Kind == "classifier";
            var defaults = UnlearningMethods.Defaults(tuned.Method, classifier);
            Assert.Equal(UnlearningMethods.UntunedDefaults(tuned.Method, classifier) with { LearningRate = tuned.LearningRate, Epochs = tuned.Epochs }, defaults);
        }
        Assert.Equal(1, UnlearningMethods.UntunedDefaults("gp", false).Gamma); // the paper's eq. 2 keeps all three terms
        Assert.Equal(1e-4, UnlearningMethods.UntunedDefaults("random-labels", true).LearningRate);
        Assert.Equal(new UnlearningSettings().LearningRate, UnlearningMethods.UntunedDefaults("memgp", false).LearningRate);
    }

    [Fact]
    public void TuningStartsFromTheHandSetDefaultsEvenWhereTunedOnesAreBuiltIn()
    {
        var builtIn = TunedDefaults.BuiltIn;
        Assert.NotNull(builtIn);
        Assert.Equal(builtIn, new ReproduceSettings { Scale = builtIn.Scale }.EffectiveTuned);
        // The built-in defaults were tuned on the tuning's own seed; the tuning neither reads them nor refuses its seed.
        var reproduce = new TuningSettings { Scale = builtIn.Scale, FirstSeed = builtIn.TuningSeeds[0] }.Reproduce;
        reproduce.Validate();
        Assert.Null(reproduce.EffectiveTuned);
        Assert.Equal("hand-set defaults (not tuned)", reproduce.TunedFrom);
        Assert.Equal(UnlearningMethods.UntunedDefaults("memgp", false).LearningRate, reproduce.Unlearning("memgp", false, builtIn.TuningSeeds[0]).LearningRate);
    }

    [Fact]
    public void TuningChoosesFromItsGridOnItsOwnSeedsAndReproduceRefusesToReportThem()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 400, testCount: 100, size: 12);
        var (code, output, error) = CliRunner.Run("tune", "--scale", "tiny", "--seed", "5", "--epochs", "1", "2", "--lr-factors", "1", "--data-dir", dir.Path, "--out", dir.File("out"));
        Assert.True(code == 0, error + output);
        var tuned = TunedDefaults.Load(dir.File("out/tuned-defaults.json"));
        Assert.Equal([5L], tuned.TuningSeeds);
        Assert.Equal(UnlearningMethods.For(false).Count() + UnlearningMethods.For(true).Count(), tuned.Methods.Count);
        foreach (var m in tuned.Methods)
        {
            Assert.Equal(UnlearningMethods.UntunedDefaults(m.Method, m.Kind == "classifier").LearningRate, m.LearningRate);
            Assert.Contains(m.Epochs, new[] { 1, 2 });
            Assert.InRange(m.Distance, 0, 1);
        }
        Assert.Contains("| encoder | MemGP (paper, optimized) |", File.ReadAllText(dir.File("out/tuning.md")));
        // The original model's own distance is the yardstick "nothing unlearned", one per model kind.
        Assert.Contains("| encoder | nothing unlearned | – | 0 |", File.ReadAllText(dir.File("out/tuning.md")));
        using (var json = JsonDocument.Parse(File.ReadAllText(dir.File("out/tuning.json"))))
        {
            var nothing = json.RootElement.GetProperty("nothingUnlearned").EnumerateArray().ToArray();
            Assert.Equal(["encoder", "classifier"], nothing.Select(n => n.GetProperty("kind").GetString()));
            Assert.All(nothing, n => Assert.InRange(n.GetProperty("distance").GetDouble(), 0, 1));
        }

        var (refused, _, refusal) = CliRunner.Run("reproduce", "--scale", "tiny", "--seed", "4", "--seeds", "2", "--tuned", dir.File("out/tuned-defaults.json"), "--out", dir.File("report"));
        Assert.Equal(1, refused);
        Assert.Contains("tuned on seed 5", refusal);
        var settings = new ReproduceSettings { Scale = "tiny", FirstSeed = 6, Tuned = tuned };
        settings.Validate();
        var memgp = tuned.Methods.Single(m => m.Kind == "encoder" && m.Method == "memgp");
        Assert.Equal(memgp.Epochs, settings.Unlearning("memgp", false, 6).Epochs);
    }
}
