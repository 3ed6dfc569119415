using Lethe.Data;

namespace Lethe.Tests;

public class IdxReaderTests
{
    static byte Pixel(int n, int r, int c) => (byte)(n * 100 + r * 10 + c);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsImagesAndLabelsRawOrGzipped(bool gzip)
    {
        using var dir = new TempDir();
        var images = TestFiles.IdxImages(2, 3, 4, Pixel);
        var labels = TestFiles.IdxLabels([7, 2]);
        File.WriteAllBytes(dir.File("img"), gzip ? TestFiles.Gzip(images) : images);
        File.WriteAllBytes(dir.File("lbl"), gzip ? TestFiles.Gzip(labels) : labels);

        var set = IdxReader.ReadSet("t", dir.File("img"), dir.File("lbl"), Datasets.MnistClasses);

        Assert.Equal((2, 1, 3, 4), (set.Count, set.Channels, set.Height, set.Width));
        Assert.Equal([7, 2], set.Labels);
        Assert.Equal(Pixel(1, 2, 3), set.Image(1)[2 * 4 + 3]);
        Assert.Equal(Pixel(0, 1, 0), set.Image(0)[4]);
    }

    [Fact]
    public void RejectsTruncatedImageFile()
    {
        using var dir = new TempDir();
        var images = TestFiles.IdxImages(3, 4, 4, Pixel);
        File.WriteAllBytes(dir.File("img"), images[..^5]);
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(dir.File("img")));
        Assert.Contains("truncated", e.Message);
        Assert.Contains(dir.File("img"), e.Message);
    }

    [Fact]
    public void RejectsTruncatedGzip()
    {
        using var dir = new TempDir();
        var gz = TestFiles.Gzip(TestFiles.IdxImages(50, 8, 8, Pixel));
        File.WriteAllBytes(dir.File("img.gz"), gz[..(gz.Length / 2)]);
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(dir.File("img.gz")));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void RejectsWrongMagicNumber()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("img"), TestFiles.IdxImages(1, 2, 2, Pixel, magic: 0x801));
        File.WriteAllBytes(dir.File("lbl"), TestFiles.IdxLabels([1], magic: 0x803));
        Assert.Contains("wrong magic number 0x00000801", Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(dir.File("img"))).Message);
        Assert.Contains("wrong magic number 0x00000803", Assert.Throws<DataFormatException>(() => IdxReader.ReadLabels(dir.File("lbl"), 10)).Message);
    }

    [Fact]
    public void RejectsOutOfRangeLabel()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("lbl"), TestFiles.IdxLabels([3, 10, 1]));
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadLabels(dir.File("lbl"), 10));
        Assert.Contains("label 10 of item 1 is out of range", e.Message);
    }

    [Fact]
    public void RejectsImageAndLabelCountMismatch()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("img"), TestFiles.IdxImages(3, 2, 2, Pixel));
        File.WriteAllBytes(dir.File("lbl"), TestFiles.IdxLabels([1, 2]));
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadSet("t", dir.File("img"), dir.File("lbl"), Datasets.MnistClasses));
        Assert.Contains("holds 2 labels but", e.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages("/nonexistent/train-images-idx3-ubyte"));
        Assert.Equal("/nonexistent/train-images-idx3-ubyte: file not found", e.Message);
    }

    [Fact]
    public void LoadsAnMnistFolderThroughTheCatalog()
    {
        using var dir = new TempDir();
        TestFiles.MnistFolder(dir.Path, trainCount: 30, testCount: 20);
        var data = Datasets.Load(DatasetKind.Mnist, dir.Path);
        Assert.Equal((30, 20), (data.Train.Count, data.Test.Count));
        Assert.Equal(Enumerable.Repeat(3, 10), data.Train.ClassCounts());
        Assert.Equal("mnist", data.Name);
    }

    [Fact]
    public void MissingDefaultFashionMnistSaysHowToInstall()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<LetheException>(() => Datasets.Load(DatasetKind.FashionMnist, dir.File("absent")));
        Assert.Contains("not found", e.Message);
        Assert.Contains("--data-dir", e.Message);
    }
}
