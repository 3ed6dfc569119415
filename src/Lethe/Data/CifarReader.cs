namespace Lethe.Data;

/// <summary>
/// Reads the binary versions of CIFAR-10 (records of 1 label byte + 3072 pixel bytes) and
/// CIFAR-100 (1 coarse + 1 fine label byte + 3072 pixel bytes); pixels are 3 x 32 x 32, channel-major.
/// </summary>
public static class CifarReader
{
    public const int ImageBytes = 3 * 32 * 32;

    public static readonly string[] Cifar10Classes =
    [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ];

    public static readonly string[] Cifar100Classes =
    [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
        "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    ];

    /// <summary>Reads CIFAR-10 batch files (e.g. data_batch_1.bin ... data_batch_5.bin) into one set.</summary>
    public static ImageSet ReadCifar10(string name, IReadOnlyList<string> files, IReadOnlyList<string>? classNames = null) =>
        Read(name, files, labelBytes: 1, classNames ?? Cifar10Classes);

    /// <summary>Reads CIFAR-100 files (train.bin or test.bin) with their fine (100-class) labels.</summary>
    public static ImageSet ReadCifar100(string name, IReadOnlyList<string> files, IReadOnlyList<string>? classNames = null) =>
        Read(name, files, labelBytes: 2, classNames ?? Cifar100Classes);

    static ImageSet Read(string name, IReadOnlyList<string> files, int labelBytes, IReadOnlyList<string> classNames)
    {
        if (files.Count == 0) throw new ArgumentException("no CIFAR files given", nameof(files));
        var record = labelBytes + ImageBytes;
        var contents = new List<byte[]>();
        var total = 0L;
        foreach (var path in files)
        {
            if (!File.Exists(path)) throw new DataFormatException(path, "file not found");
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length == 0 || bytes.Length % record != 0)
                throw new DataFormatException(path,
                    $"file is truncated or not a CIFAR-{(labelBytes == 1 ? "10" : "100")} binary: {bytes.Length} bytes is not a whole number of {record}-byte records");
            // The coarse CIFAR-100 label (byte 0) has 20 classes; the fine one (byte 1) is the label used.
            for (long offset = 0, i = 0; offset < bytes.Length; offset += record, i++)
            {
                var label = bytes[offset + labelBytes - 1];
                if (label >= classNames.Count)
                    throw new DataFormatException(path, $"label {label} of record {i} is out of range: there are {classNames.Count} classes");
                if (labelBytes == 2 && bytes[offset] >= 20)
                    throw new DataFormatException(path, $"coarse label {bytes[offset]} of record {i} is out of range: there are 20 superclasses");
            }
            contents.Add(bytes);
            total += bytes.Length / record;
        }
        if (total * ImageBytes > Array.MaxLength) throw new DataFormatException(files[0], "too many images for one set");
        var pixels = new byte[total * ImageBytes];
        var labels = new int[total];
        var n = 0;
        foreach (var bytes in contents)
        {
            for (var offset = 0; offset < bytes.Length; offset += record, n++)
            {
                labels[n] = bytes[offset + labelBytes - 1];
                Buffer.BlockCopy(bytes, offset + labelBytes, pixels, n * ImageBytes, ImageBytes);
            }
        }
        return new ImageSet(name, pixels, labels, 3, 32, 32, classNames);
    }

    /// <summary>Class names from a CIFAR meta file (one per line), or null when the file is absent.</summary>
    public static string[]? ReadClassNames(string path, int expected)
    {
        if (!File.Exists(path)) return null;
        var names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length != expected)
            throw new DataFormatException(path, $"lists {names.Length} class names, expected {expected}");
        return names;
    }
}
