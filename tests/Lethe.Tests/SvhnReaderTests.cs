using Lethe.Data;

namespace Lethe.Tests;

public class SvhnReaderTests
{
    // Unique within the 3 images of 3 x 5 x 4 that the layout test uses, so a transposition cannot go unseen.
    static byte Pixel(int n, int channel, int row, int col) => (byte)((((n * 3) + channel) * 5 + row) * 4 + col);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsColumnMajorImagesAndMapsLabelTenToZero(bool compress)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("train_32x32.mat"), TestFiles.SvhnMat(3, Pixel, [10, 1, 7], compress, height: 5, width: 4));

        var set = SvhnReader.Read("svhn/train", dir.File("train_32x32.mat"));

        Assert.Equal((3, 3, 5, 4), (set.Count, set.Channels, set.Height, set.Width));
        Assert.Equal([0, 1, 7], set.Labels);
        for (var n = 0; n < 3; n++)
        {
            for (var ch = 0; ch < 3; ch++)
            {
                for (var r = 0; r < 5; r++)
                {
                    for (var c = 0; c < 4; c++) Assert.Equal(Pixel(n, ch, r, c), set.Image(n)[(ch * 5 + r) * 4 + c]);
                }
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RejectsTruncatedFile(bool compress)
    {
        using var dir = new TempDir();
        var bytes = TestFiles.SvhnMat(4, Pixel, [1, 2, 3, 4], compress);
        File.WriteAllBytes(dir.File("t.mat"), bytes[..(bytes.Length * 2 / 3)]);
        var e = Assert.Throws<DataFormatException>(() => SvhnReader.Read("t", dir.File("t.mat")));
        Assert.StartsWith(dir.File("t.mat") + ":", e.Message);
        Assert.True(e.Message.Contains("truncated") || e.Message.Contains("corrupt"), e.Message);
    }

    [Fact]
    public void RejectsFileWithoutMatHeader()
    {
        using var dir = new TempDir();
        var bytes = TestFiles.SvhnMat(1, Pixel, [1], compress: false);
        bytes[126] = (byte)'X';
        File.WriteAllBytes(dir.File("t.mat"), bytes);
        Assert.Contains("not a MATLAB 5 MAT file", Assert.Throws<DataFormatException>(() => SvhnReader.Read("t", dir.File("t.mat"))).Message);
    }

    [Fact]
    public void ReadsASingleImageWhoseTrailingDimensionMatlabDropped()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("t.mat"), TestFiles.SvhnMat(1, Pixel, [3], compress: true, height: 5, width: 4, dropSingleton: true));
        var set = SvhnReader.Read("t", dir.File("t.mat"));
        Assert.Equal((1, 3), (set.Count, set.Labels[0]));
        Assert.Equal(Pixel(0, 2, 4, 3), set.Image(0)[(2 * 5 + 4) * 4 + 3]);
    }

    [Fact]
    public void ReadsLabelsStoredAsDoubles()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("t.mat"), TestFiles.SvhnMat(3, Pixel, [4, 10, 9], compress: false, height: 2, width: 3, labelsAsDoubles: true));
        Assert.Equal([4, 0, 9], SvhnReader.Read("t", dir.File("t.mat")).Labels);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(11, false)]
    [InlineData(2.5, true)]
    public void RejectsOutOfRangeLabels(double label, bool asDoubles)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("t.mat"), TestFiles.SvhnMat(2, Pixel, [3, label], compress: true, height: 2, width: 2, labelsAsDoubles: asDoubles));
        var e = Assert.Throws<DataFormatException>(() => SvhnReader.Read("t", dir.File("t.mat")));
        Assert.Contains($"label {label} of image 1 is out of range", e.Message);
    }

    [Fact]
    public void LoadsSvhnFolderThroughTheCatalog()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("train_32x32.mat"), TestFiles.SvhnMat(3, Pixel, [1, 2, 10], compress: true));
        File.WriteAllBytes(dir.File("test_32x32.mat"), TestFiles.SvhnMat(2, Pixel, [5, 10], compress: false));
        var data = Datasets.Load(DatasetKind.Svhn, dir.Path);
        Assert.Equal((3, 2), (data.Train.Count, data.Test.Count));
        Assert.Equal([5, 0], data.Test.Labels);
    }
}
