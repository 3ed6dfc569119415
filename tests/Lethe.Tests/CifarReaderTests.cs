using Lethe.Data;

namespace Lethe.Tests;

public class CifarReaderTests
{
    [Fact]
    public void ReadsCifar10RecordsChannelMajor()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("b.bin"), TestFiles.CifarRecords([[3], [9]], TestFiles.CifarPixel));
        var set = CifarReader.ReadCifar10("t", [dir.File("b.bin")]);
        Assert.Equal((2, 3, 32, 32), (set.Count, set.Channels, set.Height, set.Width));
        Assert.Equal([3, 9], set.Labels);
        Assert.Equal("cat", set.ClassNames[set.Labels[0]]);
        // channel 2, row 5, column 7 of image 1
        Assert.Equal(TestFiles.CifarPixel(1, 2, 5 * 32 + 7), set.Image(1)[2 * 1024 + 5 * 32 + 7]);
    }

    [Fact]
    public void ReadsCifar100FineLabels()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("train.bin"), TestFiles.CifarRecords([[4, 55], [19, 99]], TestFiles.CifarPixel));
        var set = CifarReader.ReadCifar100("t", [dir.File("train.bin")]);
        Assert.Equal([55, 99], set.Labels);
        Assert.Equal(100, set.ClassCount);
        Assert.Equal("worm", set.ClassNames[99]);
    }

    [Fact]
    public void RejectsTruncatedFile()
    {
        using var dir = new TempDir();
        var bytes = TestFiles.CifarRecords([[1], [2]], TestFiles.CifarPixel);
        File.WriteAllBytes(dir.File("b.bin"), bytes[..^100]);
        var e = Assert.Throws<DataFormatException>(() => CifarReader.ReadCifar10("t", [dir.File("b.bin")]));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("3073-byte records", e.Message);
    }

    [Fact]
    public void RejectsOutOfRangeLabels()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("b.bin"), TestFiles.CifarRecords([[1], [10]], TestFiles.CifarPixel));
        Assert.Contains("label 10 of record 1 is out of range",
            Assert.Throws<DataFormatException>(() => CifarReader.ReadCifar10("t", [dir.File("b.bin")])).Message);
        File.WriteAllBytes(dir.File("c.bin"), TestFiles.CifarRecords([[20, 5]], TestFiles.CifarPixel));
        Assert.Contains("coarse label 20",
            Assert.Throws<DataFormatException>(() => CifarReader.ReadCifar100("t", [dir.File("c.bin")])).Message);
    }

    [Fact]
    public void LoadsCifar10FolderWithClassNamesFromMetaFile()
    {
        using var dir = new TempDir();
        var root = Directory.CreateDirectory(dir.File("cifar-10-batches-bin")).FullName;
        for (var i = 1; i <= 5; i++)
            File.WriteAllBytes(Path.Combine(root, $"data_batch_{i}.bin"), TestFiles.CifarRecords([[(byte)i], [0]], TestFiles.CifarPixel));
        File.WriteAllBytes(Path.Combine(root, "test_batch.bin"), TestFiles.CifarRecords([[7]], TestFiles.CifarPixel));
        File.WriteAllLines(Path.Combine(root, "batches.meta.txt"), Enumerable.Range(0, 10).Select(i => $"class{i}").Append(""));

        var data = Datasets.Load(DatasetKind.Cifar10, dir.Path);

        Assert.Equal((10, 1), (data.Train.Count, data.Test.Count));
        Assert.Equal([1, 0, 2, 0, 3, 0, 4, 0, 5, 0], data.Train.Labels);
        Assert.Equal("class7", data.Test.ClassNames[data.Test.Labels[0]]);
    }
}
