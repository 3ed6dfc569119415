using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Lethe.Tests;

/// <summary>Tests that set libtorch's (process-wide) thread count run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class TorchThreads
{
    public const string Name = "torch threads";

    /// <summary>
    /// Runs libtorch on one thread. With two, the AVX-512 kernels of the machine of 2026-12-02 gave same-seed runs that differed from the
    /// first epoch (docs/seeds.md); tests that compare two runs bit for bit use one.
    /// </summary>
    public static void One() => TorchSharp.torch.set_num_threads(1); // the allocation fill was checked at one thread too (TestProcess)
}

/// <summary>A temporary folder removed after the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lethe-test-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}

/// <summary>Writers of small files in each supported format, so that readers are tested against real bytes.</summary>
public static class TestFiles
{
    /// <summary>tests/fixtures/pytorch, the files PyTorch wrote (make_fixtures.py), found above the test binaries.</summary>
    public static string PyTorchFixtures { get; } = FindPyTorchFixtures();

    static string FindPyTorchFixtures()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "pytorch");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/fixtures/pytorch not found above the test binaries");
    }

    /// <summary>Copies every file and folder below <paramref name="from"/> into <paramref name="to"/>.</summary>
    public static void CopyTree(string from, string to)
    {
        foreach (var folder in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, folder)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    public static byte[] IdxImages(int count, int height, int width, Func<int, int, int, byte> pixel, int magic = 0x803)
    {
        var bytes = new byte[16 + count * height * width];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), height);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), width);
        for (var n = 0; n < count; n++)
        {
            for (var r = 0; r < height; r++)
            {
                for (var c = 0; c < width; c++) bytes[16 + (n * height + r) * width + c] = pixel(n, r, c);
            }
        }
        return bytes;
    }

    public static byte[] IdxLabels(IReadOnlyList<byte> labels, int magic = 0x801)
    {
        var bytes = new byte[8 + labels.Count];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Count);
        for (var i = 0; i < labels.Count; i++) bytes[8 + i] = labels[i];
        return bytes;
    }

    public static byte[] Gzip(byte[] bytes)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest)) gzip.Write(bytes);
        return memory.ToArray();
    }

    /// <summary>Writes the four IDX files of an MNIST-like data set (gzipped) into a folder.</summary>
    public static void MnistFolder(string folder, int trainCount, int testCount, int size = 28)
    {
        byte Pixel(int n, int r, int c) => (byte)((n * 7 + r * 3 + c) % 256);
        System.IO.File.WriteAllBytes(Path.Combine(folder, "train-images-idx3-ubyte.gz"), Gzip(IdxImages(trainCount, size, size, Pixel)));
        System.IO.File.WriteAllBytes(Path.Combine(folder, "train-labels-idx1-ubyte.gz"), Gzip(IdxLabels(Enumerable.Range(0, trainCount).Select(i => (byte)(i % 10)).ToArray())));
        System.IO.File.WriteAllBytes(Path.Combine(folder, "t10k-images-idx3-ubyte.gz"), Gzip(IdxImages(testCount, size, size, Pixel)));
        System.IO.File.WriteAllBytes(Path.Combine(folder, "t10k-labels-idx1-ubyte.gz"), Gzip(IdxLabels(Enumerable.Range(0, testCount).Select(i => (byte)(i % 10)).ToArray())));
    }

    /// <summary>CIFAR records: label byte(s), then 3 x 32 x 32 pixels where pixel(n, channel, index) is given.</summary>
    public static byte[] CifarRecords(IReadOnlyList<byte[]> labels, Func<int, int, int, byte> pixel)
    {
        var labelBytes = labels[0].Length;
        var record = labelBytes + 3072;
        var bytes = new byte[labels.Count * record];
        for (var n = 0; n < labels.Count; n++)
        {
            labels[n].CopyTo(bytes, n * record);
            for (var ch = 0; ch < 3; ch++)
            {
                for (var i = 0; i < 1024; i++) bytes[n * record + labelBytes + ch * 1024 + i] = pixel(n, ch, i);
            }
        }
        return bytes;
    }

    public static byte CifarPixel(int n, int channel, int index) => (byte)((n * 31 + channel * 101 + index) % 256);

    /// <summary>A MATLAB level-5 MAT file with SVHN's variables: X (H x W x 3 x N uint8, column-major) and y (N x 1).</summary>
    public static byte[] SvhnMat(
        int count, Func<int, int, int, int, byte> pixel, double[] labels, bool compress, int height = 32, int width = 32, bool labelsAsDoubles = false, bool dropSingleton = false)
    {
        var x = new byte[height * width * 3 * count];
        for (var n = 0; n < count; n++)
        {
            for (var ch = 0; ch < 3; ch++)
            {
                for (var c = 0; c < width; c++)
                {
                    for (var r = 0; r < height; r++) x[r + height * (c + width * (ch + 3 * n))] = pixel(n, ch, r, c);
                }
            }
        }
        // MATLAB usually stores the double labels in the narrowest type that holds them (uint8); some writers keep doubles.
        var y = labelsAsDoubles ? labels.SelectMany(BitConverter.GetBytes).ToArray() : labels.Select(v => (byte)v).ToArray();
        using var file = new MemoryStream();
        var header = new byte[128];
        Encoding.ASCII.GetBytes("MATLAB 5.0 MAT-file, written by the Lethe tests".PadRight(116)).CopyTo(header, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(124), 0x0100);
        header[126] = (byte)'I';
        header[127] = (byte)'M';
        file.Write(header);
        WriteMatrix(file, "X", dropSingleton && count == 1 ? [height, width, 3] : [height, width, 3, count], mxClass: 9, storage: 2, x, compress);
        WriteMatrix(file, "y", [count, 1], mxClass: 6, storage: labelsAsDoubles ? 9 : 2, y, compress);
        return file.ToArray();
    }

    static void WriteMatrix(Stream file, string name, int[] dims, int mxClass, int storage, byte[] data, bool compress)
    {
        using var matrix = new MemoryStream();
        var flags = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(flags, (uint)mxClass);
        WriteElement(matrix, 6, flags);
        var dimBytes = new byte[dims.Length * 4];
        for (var i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(dimBytes.AsSpan(i * 4), dims[i]);
        WriteElement(matrix, 5, dimBytes);
        WriteSmallElement(matrix, 1, Encoding.ASCII.GetBytes(name));
        WriteElement(matrix, storage, data);
        var body = matrix.ToArray();

        using var element = new MemoryStream();
        WriteElement(element, 14, body);
        if (!compress)
        {
            file.Write(element.ToArray());
            return;
        }
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) zlib.Write(element.ToArray());
        var tag = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(tag, 15);
        BinaryPrimitives.WriteUInt32LittleEndian(tag.AsSpan(4), (uint)compressed.Length);
        file.Write(tag);
        file.Write(compressed.ToArray());
    }

    static void WriteElement(Stream stream, int type, byte[] data)
    {
        var tag = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(tag, (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(tag.AsSpan(4), (uint)data.Length);
        stream.Write(tag);
        stream.Write(data);
        var padding = (8 - data.Length % 8) % 8;
        stream.Write(new byte[padding]);
    }

    static void WriteSmallElement(Stream stream, int type, byte[] data)
    {
        var tag = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(tag, (uint)(type | (data.Length << 16)));
        data.CopyTo(tag, 4);
        stream.Write(tag);
    }
}

/// <summary>What every Lethe command sets up before it touches libtorch, done once for the test process too.</summary>
static class TestProcess
{
#pragma warning disable CA2255 // the tests build models directly, without a command's TorchRuntime.Initialize
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void AllocationFill() =>
        // Every thread count a test runs at, checked now, before any test uses libtorch.
        Lethe.Runtime.TorchRuntime.ApplyAllocationFill([TorchSharp.torch.get_num_threads(), 1, 2, Environment.ProcessorCount]);
}
