using Lethe.Runtime;
using Lethe.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Tests;

public class CheckpointTests
{
    sealed record TinySettings(int Hidden, double LearningRate);

    static nn.Module<Tensor, Tensor> Model(int hidden, long seed)
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(seed);
        return nn.Sequential(("fc1", nn.Linear(4, hidden)), ("act", nn.ReLU()), ("fc2", nn.Linear(hidden, 3)));
    }

    static bool Same(Tensor a, Tensor b) => a.eq(b).all().item<bool>();

    static void Step(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, Tensor x)
    {
        optimizer.zero_grad();
        model.forward(x).pow(2).mean().backward();
        optimizer.step();
    }

    [Fact]
    public void RoundTripGivesIdenticalOutputsAndResumesTheOptimizer()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var x = randn(5, 4);
        var model = Model(8, seed: 1);
        var optimizer = optim.Adam(model.parameters(), lr: 0.01);
        Step(model, optimizer, x);
        var path = dir.File("run/model.ckpt");
        Checkpoint.Save(path, model, "tiny-mlp", epoch: 3, seed: 1, new TinySettings(8, 0.01), optimizer);

        var restored = Model(8, seed: 2);
        Assert.False(Same(restored.forward(x), model.forward(x)));
        var restoredOptimizer = optim.Adam(restored.parameters(), lr: 0.01);
        var manifest = Checkpoint.Load(path, restored, "tiny-mlp", restoredOptimizer);

        Assert.True(Same(restored.forward(x), model.forward(x)));
        Assert.Equal((3, 1L, "tiny-mlp"), (manifest.Epoch, manifest.Seed, manifest.Architecture));
        Assert.Equal(8, manifest.Settings!.Value.GetProperty("hidden").GetInt32());
        // Adam's moments came back too: one more step on each keeps them equal.
        Step(model, optimizer, x);
        Step(restored, restoredOptimizer, x);
        Assert.True(Same(restored.forward(x), model.forward(x)));
        Assert.Equal(["model.ckpt"], Directory.GetFiles(dir.File("run")).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("model.bin", "model.bin does not match its SHA-256")]
    [InlineData("manifest.json", "manifest.json does not match its SHA-256")]
    public void DamagedEntryIsRejected(string entry, string expected)
    {
        using var dir = new TempDir();
        var model = Model(8, seed: 1);
        var path = dir.File("m.ckpt");
        Checkpoint.Save(path, model, "tiny-mlp", 1, 1);
        // Entries are stored uncompressed: flip a byte 60 bytes into the entry's data, after its local header and name.
        var bytes = File.ReadAllBytes(path);
        var name = System.Text.Encoding.ASCII.GetBytes(entry);
        // The entry's local header: the signature PK\x03\x04, 26 more header bytes, then the name.
        var at = Enumerable.Range(30, bytes.Length - 30 - name.Length)
            .First(i => bytes.AsSpan(i, name.Length).SequenceEqual(name) && bytes.AsSpan(i - 30, 4).SequenceEqual("PK\u0003\u0004"u8));
        bytes[at + name.Length + 60] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFormatException>(() => Checkpoint.Load(path, Model(8, 2), "tiny-mlp"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TruncatedOrForeignFileIsRejected()
    {
        using var dir = new TempDir();
        var path = dir.File("m.ckpt");
        Checkpoint.Save(path, Model(8, 1), "tiny-mlp", 1, 1);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 40)]);
        Assert.Throws<DataFormatException>(() => Checkpoint.ReadManifest(path));
        File.WriteAllText(path, "not a checkpoint");
        Assert.Contains("not a Lethe checkpoint", Assert.Throws<DataFormatException>(() => Checkpoint.ReadManifest(path)).Message);
        Assert.Contains("checkpoint not found", Assert.Throws<LetheException>(() => Checkpoint.ReadManifest(dir.File("absent.ckpt"))).Message);
    }

    [Fact]
    public void AnotherArchitectureIsRejected()
    {
        using var dir = new TempDir();
        var path = dir.File("m.ckpt");
        Checkpoint.Save(path, Model(8, 1), "tiny-mlp", 1, 1);
        Assert.Contains("'tiny-mlp' model cannot be loaded into a 'resnet18' model",
            Assert.Throws<LetheException>(() => Checkpoint.Load(path, Model(8, 2), "resnet18")).Message);
        Assert.Contains("'fc1.weight' is 8x4 float32 in the checkpoint but 16x4 float32 in the model",
            Assert.Throws<LetheException>(() => Checkpoint.Load(path, Model(16, 2), "tiny-mlp")).Message, StringComparison.OrdinalIgnoreCase);
        var other = nn.Sequential(("fc1", nn.Linear(4, 8)), ("act", nn.ReLU()), ("head", nn.Linear(8, 3)));
        Assert.Contains("no 'head.weight'", Assert.Throws<LetheException>(() => Checkpoint.Load(path, other, "tiny-mlp")).Message);
    }

    [Fact]
    public void MissingOptimizerStateIsAClearErrorWhenResuming()
    {
        using var dir = new TempDir();
        var path = dir.File("m.ckpt");
        Checkpoint.Save(path, Model(8, 1), "tiny-mlp", 1, 1);
        var model = Model(8, 2);
        Assert.Contains("no optimizer state",
            Assert.Throws<LetheException>(() => Checkpoint.Load(path, model, "tiny-mlp", optim.SGD(model.parameters(), 0.1))).Message);
    }
}
