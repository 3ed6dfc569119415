using Lethe.Data;

namespace Lethe.Tests;

/// <summary>The real data set, where its Debian package is installed (CI installs it).</summary>
public class FashionMnistTests
{
    const string Folder = "/usr/share/datasets/fashion-mnist";

    [SkippableFact]
    public void ReadsSixtyThousandPlusTenThousandImagesOf28By28()
    {
        Skip.IfNot(Directory.Exists(Folder), $"{Folder} is absent (apt-get install dataset-fashion-mnist)");
        var data = Datasets.Load(DatasetKind.FashionMnist);
        Assert.Equal((60_000, 10_000), (data.Train.Count, data.Test.Count));
        Assert.Equal((1, 28, 28), (data.Train.Channels, data.Train.Height, data.Train.Width));
        Assert.Equal(Enumerable.Repeat(6_000, 10), data.Train.ClassCounts());
        Assert.Equal(Enumerable.Repeat(1_000, 10), data.Test.ClassCounts());
        Assert.Equal("Ankle boot", data.Train.ClassNames[9]);
    }
}
