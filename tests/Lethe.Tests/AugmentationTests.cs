using Lethe.Data;
using Lethe.Runtime;
using static TorchSharp.torch;

namespace Lethe.Tests;

public class AugmentationTests
{
    static Tensor Images(int channels, long seed = 1)
    {
        TorchRuntime.EnsureLoaded();
        using var generator = new Generator((ulong)seed);
        return rand(new long[] { 6, channels, 12, 10 }, generator: generator);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void KeepsShapeAndValueRange(int channels)
    {
        using var scope = NewDisposeScope();
        var augment = new ContrastiveAugmentation(AugmentationSettings.Standard);
        using var generator = new Generator(3);
        var view = augment.Apply(Images(channels), generator);
        Assert.Equal(new long[] { 6, channels, 12, 10 }, view.shape);
        Assert.True(view.min().item<float>() >= 0f);
        Assert.True(view.max().item<float>() <= 1f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void SameSeedGivesSameViewsAndTwoViewsDiffer(int channels)
    {
        using var scope = NewDisposeScope();
        var augment = new ContrastiveAugmentation(AugmentationSettings.Standard);
        var images = Images(channels);
        using var g1 = new Generator(42);
        using var g2 = new Generator(42);
        var (a1, b1) = augment.TwoViews(images, g1);
        var (a2, b2) = augment.TwoViews(images, g2);
        Assert.True(a1.eq(a2).all().item<bool>());
        Assert.True(b1.eq(b2).all().item<bool>());
        // Each image's two views differ.
        var perImage = (a1 - b1).abs().sum(new long[] { 1, 2, 3 });
        Assert.True(perImage.min().item<float>() > 1e-3f);
    }

    [Fact]
    public void NoneLeavesImagesUnchanged()
    {
        using var scope = NewDisposeScope();
        var images = Images(3);
        using var generator = new Generator(5);
        var view = new ContrastiveAugmentation(AugmentationSettings.None).Apply(images, generator);
        Assert.True(view.allclose(images, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void FullCropWithCertainFlipMirrorsEachImageExactly()
    {
        using var scope = NewDisposeScope();
        var images = Images(3);
        var flipOnly = AugmentationSettings.None with { FlipProbability = 1 };
        using var generator = new Generator(5);
        var view = new ContrastiveAugmentation(flipOnly).Apply(images, generator);
        Assert.True(view.allclose(images.flip(3), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void CertainGrayscaleMakesChannelsEqualWithLuminanceWeights()
    {
        using var scope = NewDisposeScope();
        var images = Images(3);
        var grayOnly = AugmentationSettings.None with { GrayscaleProbability = 1 };
        using var generator = new Generator(5);
        var view = new ContrastiveAugmentation(grayOnly).Apply(images, generator);
        var expected = images[.., 0] * 0.299f + images[.., 1] * 0.587f + images[.., 2] * 0.114f;
        for (var c = 0; c < 3; c++) Assert.True(view[.., c].allclose(expected, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void CropsZoomIn()
    {
        // A strong crop of a horizontal ramp spans a narrower range of values than the whole image.
        using var scope = NewDisposeScope();
        TorchRuntime.EnsureLoaded();
        var ramp = linspace(0, 1, 32).expand(4, 1, 32, 32).contiguous();
        var cropOnly = AugmentationSettings.None with { CropScaleMin = 0.2, CropScaleMax = 0.3 };
        using var generator = new Generator(9);
        var view = new ContrastiveAugmentation(cropOnly).Apply(ramp, generator);
        var span = view.amax(new long[] { 1, 2, 3 }) - view.amin(new long[] { 1, 2, 3 });
        Assert.True(span.max().item<float>() < 0.8f, $"crop spans {span.max().item<float>()}");
    }

    [Fact]
    public void InvalidSettingsAreRejected()
    {
        Assert.Throws<LetheException>(() => new ContrastiveAugmentation(AugmentationSettings.Standard with { CropScaleMin = 0 }));
        Assert.Throws<LetheException>(() => new ContrastiveAugmentation(AugmentationSettings.Standard with { FlipProbability = 1.5 }));
        Assert.Throws<LetheException>(() => AugmentationSettings.FromName("extreme"));
    }
}
