using Lethe.Contrastive;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Training;
using static TorchSharp.torch;

namespace Lethe.Tests;

public class BackboneTests
{
    [Theory]
    [InlineData("resnet18", 3, 32, 32)]
    [InlineData("resnet18", 1, 28, 64)]
    [InlineData("small-cnn", 1, 28, 16)]
    [InlineData("small-cnn", 3, 32, 16)]
    public void BackbonesMapImagesToTheirFeatureWidth(string architecture, int channels, int size, int expected)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var settings = new EncoderSettings { Architecture = architecture, Width = architecture == "resnet18" ? 4 : 2, FeatureDim = 16 };
        if (architecture == "resnet18" && channels == 1) settings = settings with { Width = 8 };
        var backbone = Backbones.Create(settings, channels, size, size);
        var features = backbone.forward(rand(3, channels, size, size));
        Assert.Equal(new long[] { 3, expected }, features.shape);
        Assert.Equal(expected, Backbones.FeatureDim(backbone));
    }

    [Fact]
    public void PooledSmallCnnHasFourTimesWidthFeatures()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var backbone = Backbones.Create(new EncoderSettings { Width = 3, Pooled = true }, 1, 28, 28);
        Assert.Equal(new long[] { 2, 12 }, backbone.forward(rand(2, 1, 28, 28)).shape);
    }

    [Fact]
    public void ResNetEncoderTrainsAStep()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        manual_seed(0);
        var encoder = new EncoderSettings { Architecture = "resnet18", Width = 4, HeadHidden = 16, HeadDim = 8 };
        var model = new SimClr(new TrainingSettings { Method = "simclr", Encoder = encoder, Temperature = 0.5 }, 3, 16, 16);
        var optimizer = optim.SGD(model.TrainableParameters(), 0.1);
        var images = rand(4, 3, 16, 16);
        var before = model.state_dict()["backbone.stem.conv.weight"].clone();
        optimizer.zero_grad();
        var loss = model.Loss(images, images.flip(3));
        Assert.True(float.IsFinite(loss.item<float>()));
        loss.backward();
        optimizer.step();
        Assert.False(before.equal(model.state_dict()["backbone.stem.conv.weight"]).all().item<bool>());
    }

    [Fact]
    public void UnknownEncoderIsAClearError()
    {
        Assert.Contains("unknown encoder 'vgg'", Assert.Throws<LetheException>(() => new EncoderSettings { Architecture = "vgg" }.Validate()).Message);
    }
}
