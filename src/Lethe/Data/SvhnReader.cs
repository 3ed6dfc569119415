namespace Lethe.Data;

/// <summary>
/// Reads SVHN's cropped digits (train_32x32.mat, test_32x32.mat): X is 32 x 32 x 3 x N uint8 in MATLAB's
/// column-major order, y is N x 1 with labels 1..10, where 10 stands for the digit 0.
/// </summary>
public static class SvhnReader
{
    public static readonly string[] Classes = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    public static ImageSet Read(string name, string path)
    {
        var arrays = MatFile.Read(path);
        if (!arrays.TryGetValue("X", out var x)) throw new DataFormatException(path, "has no variable 'X' (the images)");
        if (!arrays.TryGetValue("y", out var y)) throw new DataFormatException(path, "has no variable 'y' (the labels)");
        var dims = x.Dimensions;
        if (dims.Length == 3) dims = [.. dims, 1]; // MATLAB drops a trailing singleton: one image is H x W x 3
        if (dims.Length != 4 || dims[2] != 3)
            throw new DataFormatException(path, $"'X' has dimensions {string.Join("x", dims)}, expected H x W x 3 x N");
        int height = dims[0], width = dims[1], count = dims[3];
        if (y.Length != count)
            throw new DataFormatException(path, $"'y' holds {y.Length} labels but 'X' holds {count} images");

        var raw = x.ToBytes(path);
        var values = y.ToDoubles();
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            var v = values[i];
            if (v is < 1 or > 10 || v != Math.Floor(v))
                throw new DataFormatException(path, $"label {v} of image {i} is out of range: SVHN labels are 1..10 (10 is the digit 0)");
            labels[i] = (int)v % 10;
        }

        // Column-major (row, col, channel, n) to row-major (n, channel, row, col).
        var pixels = new byte[raw.LongLength];
        var plane = height * width;
        var image = plane * 3;
        for (var n = 0; n < count; n++)
        {
            for (var c = 0; c < 3; c++)
            {
                var source = (long)n * image + (long)c * plane;
                var target = (long)n * image + (long)c * plane;
                for (var col = 0; col < width; col++)
                {
                    for (var row = 0; row < height; row++)
                        pixels[target + row * width + col] = raw[source + col * height + row];
                }
            }
        }
        return new ImageSet(name, pixels, labels, 3, height, width, Classes);
    }
}
