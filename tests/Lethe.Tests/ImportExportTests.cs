using System.Diagnostics;
using Lethe.Data;
using Lethe.Models;
using Lethe.Storage;
using Lethe.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Tests;

/// <summary>
/// PyTorch weights in and out, against fixtures PyTorch made (tests/fixtures/pytorch/make_fixtures.py, Debian's
/// python3-torch): Lethe's outputs on the fixtures' inputs must equal PyTorch's within 1e-5.
/// </summary>
[Collection(TorchThreads.Name)]
public sealed class ImportExportTests
{
    static readonly string Fixtures = TestFiles.PyTorchFixtures;

    static string Fixture(string name) => Path.Combine(Fixtures, name);

    static Dictionary<string, Tensor> Outputs() => StateDictFile.Read(Fixture("outputs.pt")).ToDictionary(p => p.Key, p => p.Value);

    /// <summary>A data set of the fixtures' image shape (its pixels do not matter to an import).</summary>
    static Dataset Data(int channels, int size, int classes = 10)
    {
        ImageSet Set(string name, int count) => new(name, new byte[count * channels * size * size], Enumerable.Range(0, count).Select(i => i % classes).ToArray(),
            channels, size, size, Enumerable.Range(0, classes).Select(c => $"c{c}").ToArray());
        return new Dataset("synthetic", "/nowhere", Set("train", 40), Set("test", 20));
    }

    static Learner Import(string file, string layout, Dataset data, ModelImport.Request? request = null)
    {
        var mapping = KeyMapping.Load(layout);
        request ??= new ModelImport.Request();
        var state = StateDictFile.Read(Fixture(file));
        var (canonical, _) = ModelImport.Map(file, state, mapping, request.Ignore);
        var (method, encoder) = ModelImport.Infer(file, canonical, mapping, request, data);
        var settings = TrainingPresets.Get("tiny", method) with { Encoder = encoder };
        var model = TrainingMethods.Get(method).Create(settings, data.Train.Channels, data.Train.Height, data.Train.Width, data.Train.ClassCount);
        ModelImport.Load(file, canonical, mapping, model);
        model.eval();
        return model;
    }

    static void Close(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        var difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference < 1e-5, $"max abs difference {difference}");
    }

    [Theory]
    [InlineData("resnet18_w4.pt", "torchvision", "resnet18_w4")]
    [InlineData("resnet18_w4.safetensors", "torchvision", "resnet18_w4")]
    [InlineData("resnet18_w4_imagenet.pt", "torchvision", "resnet18_w4_imagenet")]
    public void Torchvision_resnet_features_equal_pytorch(string file, string layout, string name)
    {
        var outputs = Outputs();
        using var model = Import(file, layout, Data(3, 32));
        using var noGrad = no_grad();
        Close(outputs[$"{name}.features"], model.Features(outputs["input_rgb"]));
        Assert.Equal(name.EndsWith("imagenet", StringComparison.Ordinal) ? "imagenet" : "cifar", model.Recipe.Encoder.StemKind);
    }

    [Fact]
    public void Torchvision_classifier_logits_equal_pytorch()
    {
        var outputs = Outputs();
        using var model = Import("resnet18_w4_classifier.pt", "torchvision", Data(3, 32));
        Assert.Equal("classifier", model.Method);
        using var noGrad = no_grad();
        Close(outputs["resnet18_w4_classifier.logits"], model.Output(outputs["input_rgb"]));
    }

    [Theory]
    [InlineData("small_cnn.pt")]
    [InlineData("small_cnn.safetensors")]
    public void Lethe_small_cnn_equals_pytorch(string file)
    {
        var outputs = Outputs();
        using var model = Import(file, "lethe", Data(1, 28));
        using var noGrad = no_grad();
        Close(outputs["small_cnn.features"], model.Features(outputs["input_gray"]));
        Close(outputs["small_cnn.head"], model.Output(outputs["input_gray"]));
    }

    [Fact]
    public void Solo_learn_simclr_with_its_padding_2_stem_and_plain_head_equals_pytorch()
    {
        var outputs = Outputs();
        using var model = Import("solo_simclr.ckpt", "solo-learn", Data(3, 32));
        Assert.Equal(("simclr", "cifar-pad2", "none"), (model.Method, model.Recipe.Encoder.StemKind, model.Recipe.Encoder.HeadNormKind));
        using var noGrad = no_grad();
        Close(outputs["solo_simclr.features"], model.Features(outputs["input_rgb"]));
        Close(outputs["solo_simclr.head"], model.Output(outputs["input_rgb"]));
    }

    [Fact]
    public void Solo_learn_byol_folds_biases_and_maps_its_momentum_network()
    {
        var outputs = Outputs();
        using var model = Import("solo_byol.ckpt", "solo-learn", Data(3, 32));
        Assert.Equal("byol", model.Method);
        var x = outputs["input_rgb"];
        using var noGrad = no_grad();
        Close(outputs["solo_byol.features"], model.Features(x));
        Close(outputs["solo_byol.head"], model.Output(x));
        var modules = model.named_children().ToDictionary(c => c.name, c => (nn.Module<Tensor, Tensor>)c.module);
        Close(outputs["solo_byol.predictor"], modules["predictor"].forward(model.Output(x)));
        Close(outputs["solo_byol.momentum_head"], modules["target_projector"].forward(modules["target_backbone"].forward(x)));
    }

    [Fact]
    public void Export_then_import_gives_the_same_model_in_every_layout()
    {
        using var dir = new TempDir();
        var x = Outputs()["input_rgb"];
        using var original = Import("solo_byol.ckpt", "solo-learn", Data(3, 32));
        foreach (var (layout, file) in new[] { ("solo-learn", "byol.pt"), ("lethe", "byol.safetensors"), ("lightly", "byol-lightly.safetensors") })
        {
            var (state, dropped) = ModelImport.Export(original, KeyMapping.Load(layout));
            Assert.Empty(dropped);
            StateDictFile.Write(dir.File(file), state);
            var mapping = KeyMapping.Load(layout);
            var (canonical, _) = ModelImport.Map(file, StateDictFile.Read(dir.File(file)), mapping, []);
            var (method, encoder) = ModelImport.Infer(file, canonical, mapping, new ModelImport.Request(), Data(3, 32));
            Assert.Equal(original.Recipe.Encoder with { Stem = encoder.Stem }, encoder);
            using var back = TrainingMethods.Get(method).Create(TrainingPresets.Get("tiny", method) with { Encoder = original.Recipe.Encoder }, 3, 32, 32, 10);
            ModelImport.Load(file, canonical, mapping, back);
            back.eval();
            using var noGrad = no_grad();
            Close(original.Output(x), back.Output(x));
        }
    }

    [Fact]
    public void Torchvision_export_of_an_encoder_keeps_the_backbone_and_says_what_it_drops()
    {
        using var model = Import("solo_simclr.ckpt", "solo-learn", Data(3, 32));
        var (state, dropped) = ModelImport.Export(model, KeyMapping.Load("torchvision"));
        Assert.Contains(state, p => p.Key == "conv1.weight");
        Assert.Contains(state, p => p.Key == "layer2.0.downsample.1.running_var");
        Assert.Contains("projector.fc1.weight", dropped);
    }

    [Fact]
    public void Mismatches_are_one_line_errors_naming_keys_and_shapes()
    {
        using var dir = new TempDir();
        // Wrong layout: Lethe's names read as torchvision's.
        var error = Assert.Throws<LetheException>(() => Import("small_cnn.pt", "torchvision", Data(1, 28)));
        Assert.Contains("backbone.backbone.features.", error.Message);
        Assert.Contains("is the layout right?", error.Message);
        // Wrong image channels.
        Assert.Contains("3-channel", Assert.Throws<LetheException>(() => Import("resnet18_w4.pt", "torchvision", Data(1, 32))).Message);
        // A classifier's fc where an encoder is asked for: unexpected keys, unless ignored.
        error = Assert.Throws<LetheException>(() => Import("resnet18_w4_classifier.pt", "torchvision", Data(3, 32), new ModelImport.Request { Method = "simclr" }));
        Assert.Contains("unexpected head.bias, head.weight", error.Message);
        using (Import("resnet18_w4_classifier.pt", "torchvision", Data(3, 32), new ModelImport.Request { Method = "simclr", Ignore = ["fc."] })) { }
        // Wrong class count.
        Assert.Contains("10 classes", Assert.Throws<LetheException>(() => Import("resnet18_w4_classifier.pt", "torchvision", Data(3, 32, classes: 4))).Message);
        // A stem that contradicts the weights' shape.
        Assert.Contains("shape differences: backbone.stem.conv.weight is 4x3x7x7",
            Assert.Throws<LetheException>(() => Import("resnet18_w4_imagenet.pt", "torchvision", Data(3, 32), new ModelImport.Request { Stem = "cifar" })).Message);
        // A key the layout cannot place.
        Assert.Contains("no place for", Assert.Throws<LetheException>(() => Import("solo_simclr.ckpt", "lightly", Data(3, 32))).Message);

        // Missing keys: a state dict without one block's weights.
        var state = StateDictFile.Read(Fixture("resnet18_w4.pt")).Where(p => !p.Key.StartsWith("layer3.1.conv2", StringComparison.Ordinal)).ToList();
        StateDictFile.Write(dir.File("partial.safetensors"), state);
        var mapping = KeyMapping.Load("torchvision");
        var (canonical, _) = ModelImport.Map("partial", StateDictFile.Read(dir.File("partial.safetensors")), mapping, []);
        var (method, encoder) = ModelImport.Infer("partial", canonical, mapping, new ModelImport.Request(), Data(3, 32));
        using var model = TrainingMethods.Get(method).Create(TrainingPresets.Get("tiny", method) with { Encoder = encoder }, 3, 32, 32, 10);
        Assert.Contains("missing backbone.layers.layer3.1.conv2.weight", Assert.Throws<LetheException>(() => ModelImport.Load("partial", canonical, mapping, model)).Message);

        // Files that are not state dicts.
        File.WriteAllBytes(dir.File("junk.pt"), [1, 2, 3, 4, 5, 6]);
        Assert.Contains("zip format", Assert.Throws<DataFormatException>(() => StateDictFile.Read(dir.File("junk.pt"))).Message);
        File.WriteAllBytes(dir.File("junk.safetensors"), [255, 0, 0, 0, 0, 0, 0, 0, 1]);
        Assert.IsType<DataFormatException>(Assert.ThrowsAny<LetheException>(() => StateDictFile.Read(dir.File("junk.safetensors"))));
        Assert.Contains("unknown weights format", Assert.Throws<LetheException>(() => StateDictFile.FormatOf("model.onnx")).Message);
    }

    [Fact]
    public void A_layout_file_extends_the_built_in_ones()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("mine.json"), """
            { "name": "mine", "rename": [ { "from": "encoder.", "to": "backbone." } ], "ignore": ["extra."], "fold": [] }
            """);
        var state = StateDictFile.Read(Fixture("resnet18_w4.pt")).Select(p => new KeyValuePair<string, Tensor>("encoder." + p.Key, p.Value))
            .Append(new("extra.step", tensor(3L))).ToList();
        StateDictFile.Write(dir.File("mine.pt"), state);
        var mapping = KeyMapping.Load(dir.File("mine.json"));
        var (canonical, ignored) = ModelImport.Map("mine.pt", StateDictFile.Read(dir.File("mine.pt")), mapping, []);
        Assert.Equal(["extra.step"], ignored);
        Assert.Contains("backbone.layer4.1.bn2.running_var", canonical.Keys);
        File.WriteAllText(dir.File("bad.json"), """{ "name": "bad", "renames": [] }""");
        Assert.IsType<DataFormatException>(Assert.ThrowsAny<LetheException>(() => KeyMapping.Load(dir.File("bad.json"))));
        Assert.Contains("unknown layout", Assert.Throws<LetheException>(() => KeyMapping.Load("keras")).Message);
    }

    /// <summary>Lethe exports; PyTorch loads the file into the fixture architecture (strict) and checks Lethe's outputs.</summary>
    [SkippableFact]
    public void PyTorch_loads_what_Lethe_exports()
    {
        Skip.IfNot(PythonTorchAvailable(), "python3 with torch is not installed here (Debian: apt-get install python3-torch); the export round trip is checked in Lethe only");
        using var dir = new TempDir();
        var x = Outputs()["input_rgb"];
        foreach (var (file, layout, arch, exported) in new[]
        {
            ("solo_byol.ckpt", "solo-learn", "solo_byol", "byol.pt"),
            ("solo_simclr.ckpt", "solo-learn", "solo_simclr", "simclr.safetensors"),
            ("resnet18_w4_classifier.pt", "torchvision", "resnet18_w4_classifier", "classifier.safetensors"),
        })
        {
            using var model = Import(file, layout, Data(3, 32));
            // Move the weights so the check cannot pass on the fixture's own values.
            using (no_grad())
            {
                foreach (var p in model.parameters()) p.add_(0.01f);
            }
            StateDictFile.Write(dir.File(exported), ModelImport.Export(model, KeyMapping.Load(layout)).State);
            using var noGrad = no_grad();
            var expected = new List<KeyValuePair<string, Tensor>> { new("input", x), new(model.Method == "classifier" ? "logits" : "head", model.Output(x)), new("features", model.Features(x)) };
            StateDictFile.Write(dir.File(exported + ".expected.pt"), expected);
            var (code, output) = Python(Path.Combine(Fixtures, "check_export.py"), dir.File(exported), arch, dir.File(exported + ".expected.pt"));
            Assert.True(code == 0, $"{exported}: check_export.py exited {code}: {output}");
        }
    }

    static bool PythonTorchAvailable()
    {
        try
        {
            return Python("-c", "import torch").Code == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    static (int Code, string Output) Python(params string[] args)
    {
        var start = new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Trim());
    }
}
