using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Data;

/// <summary>
/// Images held in memory as bytes (N x C x H x W, row-major), with one label each and the class names.
/// Tensors are made per batch so that a whole data set never sits in memory as floats.
/// </summary>
public sealed class ImageSet
{
    public ImageSet(string name, byte[] pixels, int[] labels, int channels, int height, int width, IReadOnlyList<string> classNames,
        IReadOnlyList<string>? ids = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"{name}: image shape {channels}x{height}x{width} is not positive");
        if (pixels.LongLength != (long)labels.Length * channels * height * width)
            throw new ArgumentException(
                $"{name}: {pixels.LongLength} pixel bytes do not hold {labels.Length} images of {channels}x{height}x{width}");
        if (classNames.Count == 0) throw new ArgumentException($"{name}: no class names");
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classNames.Count)
                throw new ArgumentException($"{name}: label {labels[i]} of image {i} is outside 0..{classNames.Count - 1}");
        }
        if (ids is not null)
        {
            if (ids.Count != labels.Length) throw new ArgumentException($"{name}: {ids.Count} sample ids for {labels.Length} images");
            var index = new Dictionary<string, int>(ids.Count, StringComparer.Ordinal);
            for (var i = 0; i < ids.Count; i++)
            {
                if (!index.TryAdd(ids[i], i)) throw new ArgumentException($"{name}: sample id '{ids[i]}' is used twice");
            }
            idIndex = index;
        }
        this.ids = ids;
        Name = name;
        Pixels = pixels;
        Labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames;
    }

    readonly IReadOnlyList<string>? ids;
    readonly Dictionary<string, int>? idIndex;

    public string Name { get; }

    /// <summary>Whether samples have names (an image folder's relative paths) rather than their index as id.</summary>
    public bool HasNamedIds => ids is not null;

    /// <summary>Every sample's stable id: the relative path for an image folder, the index (as text) for the fixed formats.</summary>
    public IReadOnlyList<string> Ids => ids ?? Enumerable.Range(0, Count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>The id of the sample at <paramref name="index"/>.</summary>
    public string SampleId(int index)
    {
        CheckIndex(index);
        return ids is null ? index.ToString(CultureInfo.InvariantCulture) : ids[index];
    }

    /// <summary>The index of the sample named <paramref name="id"/>: a relative path, or for the fixed formats an index.</summary>
    public bool TryFind(string id, out int index)
    {
        if (idIndex is not null) return idIndex.TryGetValue(id, out index);
        if (int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out index) && index < Count) return true;
        index = -1;
        return false;
    }

    /// <summary>SHA-256 of the ids and labels in order: what a split made for this set depends on. Null for index ids.</summary>
    public string? Fingerprint()
    {
        if (ids is null) return null;
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < Count; i++) text.Append(ids[i]).Append('\t').Append(Labels[i]).Append('\n');
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Pixel bytes, image after image, each C x H x W.</summary>
    public byte[] Pixels { get; }

    public int[] Labels { get; }

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public int Count => Labels.Length;

    public int ImageSize => Channels * Height * Width;

    public int ClassCount => ClassNames.Count;

    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(index * ImageSize, ImageSize);

    /// <summary>Number of images in each class, indexed by label.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[ClassCount];
        foreach (var label in Labels) counts[label]++;
        return counts;
    }

    /// <summary>The images at <paramref name="indices"/> as a float tensor B x C x H x W scaled to [0, 1].</summary>
    public Tensor Batch(ReadOnlySpan<int> indices, Device? device = null)
    {
        var bytes = new byte[indices.Length * ImageSize];
        for (var i = 0; i < indices.Length; i++)
        {
            CheckIndex(indices[i]);
            Image(indices[i]).CopyTo(bytes.AsSpan(i * ImageSize));
        }
        using var scope = NewDisposeScope();
        var raw = tensor(bytes, new long[] { indices.Length, Channels, Height, Width }, ScalarType.Byte);
        // The bytes cross to the device (a quarter of the floats' size) and are converted there.
        if (device is not null && device.type != DeviceType.CPU) raw = raw.to(device);
        return raw.to_type(ScalarType.Float32).div_(255f).MoveToOuterDisposeScope();
    }

    /// <summary>The labels at <paramref name="indices"/> as an int64 tensor.</summary>
    public Tensor LabelBatch(ReadOnlySpan<int> indices, Device? device = null)
    {
        var values = new long[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            CheckIndex(indices[i]);
            values[i] = Labels[indices[i]];
        }
        var result = tensor(values, ScalarType.Int64);
        return device is null || device.type == DeviceType.CPU ? result : result.to(device);
    }

    void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"{Name}: index {index} is outside 0..{Count - 1}");
    }
}

/// <summary>A data set's two splits, as distributed: the training split and the test split.</summary>
public sealed record Dataset(string Name, string Directory, ImageSet Train, ImageSet Test);
