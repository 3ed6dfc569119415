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
    public void CropsAreBoxesOfTheAskedScaleAtWholePixelOffsets()
    {
        // Columns first, then rows (the transposed ramp). A quarter-area square crop of a 32 x 32 image is a 16 x 16 box resized to 32 x 32. On a ramp whose value
        // is the column index, each output row then spans columns left - 0.25 .. left + 15.25 (bilinear, half-pixel
        // centres), clamped at the border: a span of 15.5 (15.25 at the left edge), starting at a whole column.
        using var scope = NewDisposeScope();
        TorchRuntime.EnsureLoaded();
        var ramp = arange(32, ScalarType.Float32).expand(8, 1, 32, 32).contiguous();
        var quarter = AugmentationSettings.None with { CropScaleMin = 0.25, CropScaleMax = 0.25 };
        using var generator = new Generator(9);
        foreach (var images in new[] { ramp, ramp.transpose(2, 3).contiguous() })
        {
            var view = new ContrastiveAugmentation(quarter).Apply(images, generator);
            var low = view.amin(new long[] { 1, 2, 3 }).data<float>().ToArray();
            var high = view.amax(new long[] { 1, 2, 3 }).data<float>().ToArray();
            for (var b = 0; b < 8; b++)
            {
                var left = low[b] == 0 ? 0 : low[b] + 0.25;
                Assert.Equal(Math.Round(left), left, 4);
                Assert.Equal(Math.Min(left + 15.25, 31), high[b], 4);
                Assert.InRange(left, 0, 16);
            }
        }
    }

    [Fact]
    public void HueRotationIsTheIdentityAtZeroAndKeepsGrays()
    {
        var identity = ContrastiveAugmentation.HueMatrix(0);
        for (var i = 0; i < 9; i++) Assert.Equal(i % 4 == 0 ? 1f : 0f, identity[i], 5);
        var turned = ContrastiveAugmentation.HueMatrix(0.5);
        for (var row = 0; row < 3; row++) Assert.Equal(1f, turned[row * 3] + turned[row * 3 + 1] + turned[row * 3 + 2], 4);
    }

    [Fact]
    public void InvalidSettingsAreRejected()
    {
        Assert.Throws<LetheException>(() => new ContrastiveAugmentation(AugmentationSettings.Standard with { CropScaleMin = 0 }));
        Assert.Throws<LetheException>(() => new ContrastiveAugmentation(AugmentationSettings.Standard with { FlipProbability = 1.5 }));
        Assert.Throws<LetheException>(() => AugmentationSettings.FromName("extreme"));
    }
}
