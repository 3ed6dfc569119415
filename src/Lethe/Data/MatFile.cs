using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Lethe.Data;

/// <summary>A numeric array read from a MAT file: its name, MATLAB dimensions (column-major) and data.</summary>
public sealed class MatArray(string name, int[] dimensions, MatFile.DataType storage, byte[] data)
{
    public string Name { get; } = name;

    /// <summary>Dimensions as MATLAB gives them; the first varies fastest (column-major).</summary>
    public int[] Dimensions { get; } = dimensions;

    /// <summary>How the values are stored in the file (MATLAB stores small values in a narrower type).</summary>
    public MatFile.DataType Storage { get; } = storage;

    public long Length => Dimensions.Aggregate(1L, (a, d) => a * d);

    byte[] Data { get; } = data;

    /// <summary>The values as bytes; fails unless each one is an integer in 0..255.</summary>
    public byte[] ToBytes(string path)
    {
        if (Storage == MatFile.DataType.UInt8) return Data;
        var values = ToDoubles();
        var bytes = new byte[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] is < 0 or > 255 || values[i] != Math.Floor(values[i]))
                throw new DataFormatException(path, $"variable '{Name}' holds {values[i]} at element {i}, not a byte value");
            bytes[i] = (byte)values[i];
        }
        return bytes;
    }

    /// <summary>The values as doubles, whatever the storage type.</summary>
    public double[] ToDoubles()
    {
        var size = MatFile.SizeOf(Storage);
        var values = new double[Data.Length / size];
        var span = Data.AsSpan();
        for (var i = 0; i < values.Length; i++)
        {
            var at = span[(i * size)..];
            values[i] = Storage switch
            {
                MatFile.DataType.Int8 => (sbyte)at[0],
                MatFile.DataType.UInt8 => at[0],
                MatFile.DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(at),
                MatFile.DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(at),
                MatFile.DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(at),
                MatFile.DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(at),
                MatFile.DataType.Single => BinaryPrimitives.ReadSingleLittleEndian(at),
                MatFile.DataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(at),
                MatFile.DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(at),
                MatFile.DataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(at),
                _ => throw new InvalidOperationException($"storage type {Storage} is not numeric"),
            };
        }
        return values;
    }
}

/// <summary>
/// Reads the numeric arrays of a MATLAB level-5 MAT file (the format of SVHN's train_32x32.mat):
/// a 128-byte header, then tagged data elements, each matrix possibly zlib-compressed (miCOMPRESSED).
/// Little-endian files only; cells, structs, sparse and character arrays are skipped.
/// </summary>
public static class MatFile
{
    public enum DataType
    {
        Int8 = 1, UInt8 = 2, Int16 = 3, UInt16 = 4, Int32 = 5, UInt32 = 6, Single = 7, Double = 9,
        Int64 = 12, UInt64 = 13, Matrix = 14, Compressed = 15, Utf8 = 16, Utf16 = 17, Utf32 = 18,
    }

    // mxCLASS values of numeric arrays (6 double ... 15 uint64), and of MATLAB objects.
    const int FirstNumericClass = 6;
    const int LastNumericClass = 15;
    const int OpaqueClass = 17;

    public static int SizeOf(DataType type) => type switch
    {
        DataType.Int8 or DataType.UInt8 or DataType.Utf8 => 1,
        DataType.Int16 or DataType.UInt16 or DataType.Utf16 => 2,
        DataType.Int32 or DataType.UInt32 or DataType.Single or DataType.Utf32 => 4,
        DataType.Double or DataType.Int64 or DataType.UInt64 => 8,
        _ => 1,
    };

    /// <summary>Reads every numeric array in the file, by variable name.</summary>
    public static IReadOnlyDictionary<string, MatArray> Read(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException(path, "file not found");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 128) throw new DataFormatException(path, $"file is truncated: {bytes.Length} bytes, a MAT header has 128");
        if (bytes[126] == (byte)'M' && bytes[127] == (byte)'I')
            throw new DataFormatException(path, "big-endian MAT files are not supported");
        if (bytes[126] != (byte)'I' || bytes[127] != (byte)'M')
            throw new DataFormatException(path, "not a MATLAB 5 MAT file (no 'IM' endian mark at byte 126; v7.3 HDF5 files are not supported)");
        var version = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(124));
        if (version == 0x0200) throw new DataFormatException(path, "is a MAT v7.3 (HDF5) file, which is not supported: save it with -v7 or earlier");
        if (version != 0x0100) throw new DataFormatException(path, $"MAT version 0x{version:x4} is not supported (expected 0x0100)");

        var arrays = new Dictionary<string, MatArray>(StringComparer.Ordinal);
        var position = 128;
        while (position < bytes.Length)
        {
            if (bytes.Length - position < 8)
            {
                // Some writers pad the end of the file; anything else this short is a truncated tag.
                if (bytes.AsSpan(position).IndexOfAnyExcept((byte)0) < 0) break;
                throw new DataFormatException(path, $"truncated element tag at byte {position}");
            }
            var (type, size, dataAt, next) = ReadTag(path, bytes, position);
            if ((long)dataAt + size > bytes.Length)
                throw new DataFormatException(path, $"element at byte {position} claims {size} bytes but the file ends first (truncated)");
            if (type == DataType.Compressed)
            {
                var inner = Inflate(path, bytes, dataAt, size, position);
                if (inner.Length < 8) throw new DataFormatException(path, $"compressed element at byte {position} is empty");
                var (innerType, innerSize, innerAt, _) = ReadTag(path, inner, 0);
                if ((long)innerAt + innerSize > inner.Length)
                    throw new DataFormatException(path, $"compressed element at byte {position} is truncated");
                if (innerType == DataType.Matrix) AddMatrix(path, inner, innerAt, innerSize, arrays);
                next = dataAt + size; // compressed elements carry no padding
            }
            else if (type == DataType.Matrix)
            {
                AddMatrix(path, bytes, dataAt, size, arrays);
            }
            position = next;
        }
        return arrays;
    }

    static void AddMatrix(string path, byte[] bytes, int start, int length, Dictionary<string, MatArray> arrays)
    {
        if (length == 0) return; // an empty matrix has no sub-elements
        var end = start + length;
        var (flagsType, flagsSize, flagsAt, at) = ReadTag(path, bytes, start, end);
        if (flagsType != DataType.UInt32 || flagsSize != 8) throw new DataFormatException(path, "matrix has no array-flags sub-element");
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(flagsAt));
        var mxClass = (int)(flags & 0xff);
        var complex = (flags & 0x800) != 0;
        if (mxClass == OpaqueClass) return; // MATLAB objects (string, datetime, table) have no dimensions sub-element

        var (dimsType, dimsSize, dimsAt, afterDims) = ReadTag(path, bytes, at, end);
        if (dimsType != DataType.Int32 || dimsSize % 4 != 0 || dimsSize == 0)
            throw new DataFormatException(path, "matrix has no dimensions sub-element");
        var dims = new int[dimsSize / 4];
        for (var i = 0; i < dims.Length; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(dimsAt + 4 * i));
            if (dims[i] < 0) throw new DataFormatException(path, $"matrix has a negative dimension {dims[i]}");
        }

        var (nameType, nameSize, nameAt, afterName) = ReadTag(path, bytes, afterDims, end);
        if (nameType != DataType.Int8) throw new DataFormatException(path, "matrix has no name sub-element");
        var name = Encoding.ASCII.GetString(bytes, nameAt, nameSize);
        if (mxClass < FirstNumericClass || mxClass > LastNumericClass || complex) return;

        var (realType, realSize, realAt, _) = ReadTag(path, bytes, afterName, end);
        if (!Enum.IsDefined(realType) || realType is DataType.Matrix or DataType.Compressed or >= DataType.Utf8)
            throw new DataFormatException(path, $"variable '{name}' has an unknown storage type {(int)realType}");
        var count = dims.Aggregate(1L, (a, d) => a * d);
        if (realSize != count * SizeOf(realType))
            throw new DataFormatException(path,
                $"variable '{name}' holds {realSize} bytes of {realType}, its dimensions {string.Join("x", dims)} need {count * SizeOf(realType)} (truncated?)");
        arrays[name] = new MatArray(name, dims, realType, bytes.AsSpan(realAt, realSize).ToArray());
    }

    /// <summary>Reads a tag (long or small form); returns the type, size, where the data starts and where the next element starts.</summary>
    static (DataType Type, int Size, int DataAt, int Next) ReadTag(string path, byte[] bytes, int position, int end = -1)
    {
        if (end < 0) end = bytes.Length;
        if ((long)position + 8 > end) throw new DataFormatException(path, $"truncated element tag at byte {position}");
        var first = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position));
        if ((first >> 16) != 0)
        {
            // Small data element: type and size share the first word, data fits in the next four bytes.
            var smallSize = (int)(first >> 16);
            if (smallSize > 4) throw new DataFormatException(path, $"corrupt small element at byte {position}");
            return ((DataType)(first & 0xffff), smallSize, position + 4, position + 8);
        }
        var size = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position + 4));
        var dataAt = position + 8;
        if (dataAt + (long)size > end)
            throw new DataFormatException(path, $"element at byte {position} claims {size} bytes but its container ends first (truncated or corrupt)");
        var padded = ((long)size + 7) / 8 * 8;
        return ((DataType)first, (int)size, dataAt, (int)Math.Min(int.MaxValue, dataAt + padded));
    }

    static byte[] Inflate(string path, byte[] bytes, int start, int length, int position)
    {
        try
        {
            using var input = new MemoryStream(bytes, start, length, writable: false);
            using var zlib = new ZLibStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            zlib.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, $"compressed element at byte {position} is corrupt ({e.Message})");
        }
    }
}
