using System.Buffers.Binary;
using System.IO.Compression;

namespace Lethe.Data;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST (big-endian header; magic 0x00000803 for
/// unsigned-byte images N x H x W, 0x00000801 for labels), raw or gzip-compressed.
/// </summary>
public static class IdxReader
{
    const int ImagesMagic = 0x00000803;
    const int LabelsMagic = 0x00000801;

    /// <summary>Reads an image file; returns the pixels (N x H x W) and the image height and width.</summary>
    public static (byte[] Pixels, int Count, int Height, int Width) ReadImages(string path)
    {
        var bytes = ReadAll(path);
        if (bytes.Length < 16) throw new DataFormatException(path, $"file is truncated: {bytes.Length} bytes, an IDX image header has 16");
        var magic = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (magic != ImagesMagic)
            throw new DataFormatException(path, $"wrong magic number 0x{magic:x8}: IDX images have 0x{ImagesMagic:x8}");
        var count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        var height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8));
        var width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(12));
        if (count < 0 || height <= 0 || width <= 0)
            throw new DataFormatException(path, $"header gives an impossible shape {count} x {height} x {width}");
        var expected = 16L + (long)count * height * width;
        if (bytes.LongLength != expected)
            throw new DataFormatException(path,
                $"file is {(bytes.LongLength < expected ? "truncated" : "too long")}: {bytes.LongLength} bytes, " +
                $"{count} images of {height}x{width} need {expected}");
        return (bytes[16..], count, height, width);
    }

    /// <summary>Reads a label file and checks that every label is below <paramref name="classCount"/>.</summary>
    public static int[] ReadLabels(string path, int classCount)
    {
        var bytes = ReadAll(path);
        if (bytes.Length < 8) throw new DataFormatException(path, $"file is truncated: {bytes.Length} bytes, an IDX label header has 8");
        var magic = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (magic != LabelsMagic)
            throw new DataFormatException(path, $"wrong magic number 0x{magic:x8}: IDX labels have 0x{LabelsMagic:x8}");
        var count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        if (count < 0) throw new DataFormatException(path, $"header gives a negative count {count}");
        if (bytes.LongLength != 8L + count)
            throw new DataFormatException(path,
                $"file is {(bytes.LongLength < 8L + count ? "truncated" : "too long")}: {bytes.LongLength} bytes, {count} labels need {8L + count}");
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = bytes[8 + i];
            if (labels[i] >= classCount)
                throw new DataFormatException(path, $"label {labels[i]} of item {i} is out of range: there are {classCount} classes");
        }
        return labels;
    }

    /// <summary>Reads an image file and its label file into one set.</summary>
    public static ImageSet ReadSet(string name, string imagesPath, string labelsPath, IReadOnlyList<string> classNames)
    {
        var (pixels, count, height, width) = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath, classNames.Count);
        if (labels.Length != count)
            throw new DataFormatException(labelsPath, $"holds {labels.Length} labels but {imagesPath} holds {count} images");
        return new ImageSet(name, pixels, labels, 1, height, width, classNames);
    }

    /// <summary>The path of an IDX file named <paramref name="baseName"/>, gzipped or not, in a folder.</summary>
    public static string? Find(string directory, string baseName)
    {
        foreach (var candidate in new[] { baseName + ".gz", baseName, baseName.Replace("-idx", ".idx", StringComparison.Ordinal) })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    static byte[] ReadAll(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException(path, "file not found");
        try
        {
            using var file = File.OpenRead(path);
            var gzipped = file.Length >= 2 && file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
            file.Position = 0;
            if (!gzipped) return File.ReadAllBytes(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var memory = new MemoryStream();
            gzip.CopyTo(memory);
            return memory.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, $"gzip data is corrupt or truncated ({e.Message})");
        }
        catch (EndOfStreamException)
        {
            throw new DataFormatException(path, "gzip data is truncated");
        }
    }
}
