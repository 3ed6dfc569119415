using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using Lethe.Unlearning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lethe.Tests;

/// <summary>
/// One tiny run of every training method, made by `lethe pretrain` / `lethe train` with --device on the device the test
/// process is given (<see cref="DeviceTests.DeviceName"/>), trained once for the class.
/// </summary>
public sealed class DeviceRuns : IDisposable
{
    readonly TempDir dir = new();

    public DeviceRuns()
    {
        TorchRuntime.EnsureLoaded();
        Device = TorchRuntime.ParseDevice(DeviceTests.DeviceName);
        TestFiles.MnistFolder(dir.Path, trainCount: 120, testCount: 40, size: 12);
        foreach (var method in TrainingMethods.Names)
        {
            var command = TrainingMethods.Get(method).IsEncoder ? "pretrain" : "train";
            var (code, _, error) = CliRunner.Run(command, "--method", method, "--preset", "tiny", "--dataset", "mnist", "--data-dir", dir.Path,
                "--epochs", "1", "--device", DeviceTests.DeviceName, "--out", Folder(method));
            Failures[method] = code == 0 ? null : $"lethe {command} --method {method} exited {code}: {error}";
        }
    }

    public Device Device { get; }

    public string DataDir => dir.Path;

    /// <summary>The error of each method's training command, null when it succeeded.</summary>
    public Dictionary<string, string?> Failures { get; } = [];

    public string Folder(string method) => dir.File($"run-{method}");

    public string NewFolder(string name)
    {
        var folder = dir.File($"out-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        return folder;
    }

    public TrainingRun Open(string method)
    {
        Assert.Null(Failures[method]);
        return TrainingRun.Open(Folder(method), DataDir);
    }

    public void Dispose() => dir.Dispose();
}

/// <summary>
/// Every training method and every registered unlearning method, a step or two on tiny data, on an explicitly given
/// device, through the code paths the command line uses (docs/gpu.md). LETHE_TEST_DEVICE picks the device (cpu by
/// default), so the same tests check a CUDA build on a GPU machine: LETHE_TEST_DEVICE=cuda dotnet test ...
/// </summary>
[Collection(TorchThreads.Name)]
public sealed class DeviceTests(DeviceRuns runs) : IClassFixture<DeviceRuns>
{
    public static string DeviceName { get; } = Environment.GetEnvironmentVariable("LETHE_TEST_DEVICE") is { Length: > 0 } name ? name : "cpu";

    static bool On(Tensor t, Device device) => t.device_type == device.type && (device.index < 0 || t.device_index == device.index);

    /// <summary>Fails naming every parameter and buffer of <paramref name="module"/> that is not on <paramref name="device"/>.</summary>
    internal static void AssertOn(nn.Module module, Device device, string what)
    {
        var tensors = module.named_parameters().Select(p => (p.name, Tensor: (Tensor)p.parameter))
            .Concat(module.named_buffers().Select(b => (b.name, Tensor: b.buffer))).ToList();
        Assert.NotEmpty(tensors);
        var stray = tensors.Where(t => !On(t.Tensor, device)).Select(t => $"{t.name} ({t.Tensor.device})").ToList();
        Assert.True(stray.Count == 0, $"{what}: {stray.Count} of {tensors.Count} parameters and buffers are not on {device}: {string.Join(", ", stray)}");
    }

    static void AssertOnAndFinite(Tensor t, Device device, string what)
    {
        Assert.True(On(t, device), $"{what} is on {t.device}, not {device}");
        Assert.True(isfinite(t).all().item<bool>(), $"{what} is not finite");
    }

    /// <summary>The learner's parameters and buffers, its outputs D (head and backbone) and its training loss, on the device and finite.</summary>
    static void AssertModelOn(Learner model, ImageSet images, int[] ids, Device device, string what)
    {
        AssertOn(model, device, what);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var batch = images.Batch(ids, device);
        var labels = images.LabelBatch(ids, device);
        model.Evaluating(() =>
        {
            AssertOnAndFinite(model.Output(batch), device, $"{what}: head output");
            AssertOnAndFinite(model.Output(batch, "backbone"), device, $"{what}: backbone output");
            return 0;
        });
        using var generator = new Generator(1);
        var (loss, logits) = model.TrainingLoss(batch, labels, generator);
        AssertOnAndFinite(loss, device, $"{what}: training loss");
        if (logits is not null) AssertOnAndFinite(logits, device, $"{what}: logits");
    }

    public static TheoryData<string> TrainingCases() => [.. TrainingMethods.Names];

    [Theory]
    [MemberData(nameof(TrainingCases))]
    public void TrainingRunsOnTheGivenDevice(string method)
    {
        // The run trained, evaluated (kNN or test accuracy, the membership monitor) and probed on the device; its metrics are finite.
        var run = runs.Open(method);
        var metrics = new RunFolder(run.Folder).ReadMetrics<EpochMetrics>();
        var last = Assert.Single(metrics);
        Assert.True(double.IsFinite(last.Loss), $"{method}: loss {last.Loss}");
        Assert.True(last.Evaluated);
        Assert.InRange(last.KnnAccuracy ?? last.TestAccuracy ?? -1, 0.0, 1.0);
        // Loaded as `lethe audit` and `lethe unlearn` load it.
        using var model = run.LoadModel(runs.Device);
        AssertModelOn(model, run.Data.Train, run.Split.Members[..8], runs.Device, method);
    }

    /// <summary>Every registered method on a MoCo encoder (a queue buffer, a momentum key encoder) and on a classifier, where it applies.</summary>
    public static TheoryData<string, string, bool> UnlearningCases()
    {
        var cases = new TheoryData<string, string, bool>();
        foreach (var (run, classifier) in new[] { ("moco", false), ("classifier", true) })
        {
            foreach (var method in UnlearningMethods.For(classifier))
            {
                cases.Add(run, method, false);
                // Per-sample stopping scores samples on the device before each epoch; without it, targeted always takes its steps.
                if (UnlearningMethods.Defaults(method, classifier).PerSampleStop) cases.Add(run, method, true);
            }
        }
        return cases;
    }

    [Theory]
    [MemberData(nameof(UnlearningCases))]
    public void UnlearningRunsOnTheGivenDevice(string runMethod, string method, bool perSampleStop)
    {
        var run = runs.Open(runMethod);
        var settings = UnlearningMethods.Defaults(method, classifier: !run.Settings.IsEncoder) with { Epochs = 1, BatchSize = 8, PerSampleStop = perSampleStop };
        var folder = runs.NewFolder(method);
        // `lethe unlearn` without its audits: load, unlearn, save the checkpoint.
        var (model, request) = ForgetRequest.Fulfil(run, run.Split, settings, folder, runs.Device);
        using (model)
        {
            var result = request.Result;
            Assert.False(result.Diverged, result.StopReason);
            if (perSampleStop && result.Epochs.Count == 0) Assert.Contains("stands out", result.StopReason);
            else Assert.True(result.Epochs.Count == 1, $"{method}: {result.Epochs.Count} epochs ({result.StopReason})");
            foreach (var e in result.Epochs)
            {
                double[] terms = [e.Total, e.Train, e.Penalty, e.Norm, e.Forget, e.Anchor];
                Assert.True(terms.All(double.IsFinite), $"{method}: terms {string.Join(", ", terms)}");
            }
            AssertModelOn(model, run.Data.Train, run.Split.Forget, runs.Device, $"{runMethod} after {method}");
        }
        // And the unlearned checkpoint loads back onto the device, as `lethe audit --checkpoint` loads it.
        using var saved = run.LoadModel(runs.Device, request.CheckpointPath(folder));
        AssertOn(saved, runs.Device, $"{runMethod} after {method}, reloaded");
    }

    [Theory]
    [InlineData("classifier")] // an encoder's audit took 18 s of this class's budget; training already ran kNN and the probe there
    public void UnlearnCommandAuditsOnTheGivenDevice(string runMethod)
    {
        // The audits before and after (the supervised attacks, accuracy) read results back from the device.
        Assert.Null(runs.Failures[runMethod]);
        var (code, output, error) = CliRunner.Run("unlearn", "--run", runs.Folder(runMethod), "--data-dir", runs.DataDir, "--method", "neggrad",
            "--epochs", "1", "--device", DeviceName, "--out", runs.NewFolder($"cli-{runMethod}"));
        Assert.True(code == 0, error);
        Assert.Contains("done", output);
    }

    [Fact]
    public void TheDeviceCheckNamesATensorLeftOnAnotherDevice()
    {
        // The meta device holds shapes without data, so it stands in for a second device on a machine with only a CPU.
        using var linear = nn.Linear(3, 2);
        linear.bias = new Parameter(zeros(2, device: new Device(DeviceType.META)));
        var failure = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertOn(linear, CPU, "linear"));
        Assert.Contains("1 of 2", failure.Message);
        Assert.Contains("bias", failure.Message);
        using var whole = nn.Linear(3, 2);
        AssertOn(whole, CPU, "linear");
    }
}
