namespace Lethe.Data;

/// <summary>The data sets Lethe reads.</summary>
public enum DatasetKind
{
    FashionMnist,
    Mnist,
    Cifar10,
    Cifar100,
    Svhn,

    /// <summary>Images in folders, one per class (torchvision's ImageFolder layout): <see cref="ImageFolder"/>.</summary>
    Folder,
}

/// <summary>Names, default locations and loaders of the supported data sets.</summary>
public static class Datasets
{
    public const string DefaultName = "fashion-mnist";

    public static readonly string[] FashionMnistClasses =
    [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ];

    public static readonly string[] MnistClasses = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    static readonly (DatasetKind Kind, string Name, string? DefaultDirectory, string Files)[] Known =
    [
        (DatasetKind.FashionMnist, "fashion-mnist", "/usr/share/datasets/fashion-mnist",
            "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"),
        (DatasetKind.Mnist, "mnist", "/usr/share/datasets/mnist",
            "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]"),
        (DatasetKind.Cifar10, "cifar10", null, "data_batch_1.bin ... data_batch_5.bin and test_batch.bin (the binary version)"),
        (DatasetKind.Cifar100, "cifar100", null, "train.bin and test.bin (the binary version)"),
        (DatasetKind.Svhn, "svhn", null, "train_32x32.mat and test_32x32.mat (cropped digits)"),
        (DatasetKind.Folder, "folder", null, "one sub-folder of images (png, jpg, jpeg, bmp, webp) per class"),
    ];

    public static IEnumerable<string> Names => Known.Select(k => k.Name);

    public static DatasetKind Parse(string name)
    {
        var key = name.Trim().ToLowerInvariant().Replace("_", "-", StringComparison.Ordinal);
        key = key switch
        {
            "fashionmnist" or "fmnist" => "fashion-mnist",
            "cifar-10" => "cifar10",
            "cifar-100" => "cifar100",
            _ => key,
        };
        foreach (var k in Known)
        {
            if (k.Name == key) return k.Kind;
        }
        throw new LetheException($"unknown data set '{name}': use one of {string.Join(", ", Names)}");
    }

    public static string NameOf(DatasetKind kind) => Known.First(k => k.Kind == kind).Name;

    /// <summary>Where a Debian package puts the data set, or null when none does.</summary>
    public static string? DefaultDirectory(DatasetKind kind) => Known.First(k => k.Kind == kind).DefaultDirectory;

    /// <summary>
    /// Loads a data set by name. An image folder is read with <paramref name="folder"/>'s options, its root replaced by
    /// <paramref name="directory"/> when that is given; the fixed formats read <paramref name="directory"/> or their default place.
    /// </summary>
    public static Dataset Load(string name, string? directory, FolderOptions? folder, Action<string>? log = null)
    {
        var kind = Parse(name);
        if (kind != DatasetKind.Folder) return Load(kind, directory);
        var options = (folder ?? new FolderOptions()) with { Root = directory ?? folder?.Root ?? "" };
        return ImageFolder.Load(options, log);
    }

    /// <summary>Loads both splits from <paramref name="directory"/>, or from the data set's default place.</summary>
    public static Dataset Load(DatasetKind kind, string? directory = null)
    {
        if (kind == DatasetKind.Folder) return Load("folder", directory, null);
        var entry = Known.First(k => k.Kind == kind);
        var folder = directory ?? entry.DefaultDirectory
            ?? throw new LetheException($"{entry.Name} cannot be downloaded here: pass --data-dir with a folder holding {entry.Files}");
        if (!Directory.Exists(folder)) throw new LetheException($"{entry.Name} not found at {folder}: {Hint(entry.Name, entry.Files, directory is null)}");
        return kind switch
        {
            DatasetKind.FashionMnist => LoadIdx(entry.Name, folder, FashionMnistClasses, entry.Files, directory is null),
            DatasetKind.Mnist => LoadIdx(entry.Name, folder, MnistClasses, entry.Files, directory is null),
            DatasetKind.Cifar10 => LoadCifar10(folder, entry.Files),
            DatasetKind.Cifar100 => LoadCifar100(folder, entry.Files),
            DatasetKind.Svhn => LoadSvhn(folder, entry.Files),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>What to do when a data set's files are missing.</summary>
    static string Hint(string name, string files, bool isDefault) => name switch
    {
        "fashion-mnist" when isDefault =>
            "install it with `sudo apt-get install dataset-fashion-mnist` (Debian), or pass --data-dir with a folder holding " + files,
        _ => $"pass --data-dir with a folder holding {files}",
    };

    static Dataset LoadIdx(string name, string folder, string[] classes, string files, bool isDefault)
    {
        string Need(string baseName) => IdxReader.Find(folder, baseName)
            ?? throw new LetheException($"{name}: {Path.Combine(folder, baseName)}[.gz] not found; {Hint(name, files, isDefault)}");
        var train = IdxReader.ReadSet($"{name}/train", Need("train-images-idx3-ubyte"), Need("train-labels-idx1-ubyte"), classes);
        var test = IdxReader.ReadSet($"{name}/test", Need("t10k-images-idx3-ubyte"), Need("t10k-labels-idx1-ubyte"), classes);
        CheckSameShape(name, train, test);
        return new Dataset(name, folder, train, test);
    }

    static Dataset LoadCifar10(string folder, string files)
    {
        var root = Directory.Exists(Path.Combine(folder, "cifar-10-batches-bin")) ? Path.Combine(folder, "cifar-10-batches-bin") : folder;
        var trainFiles = Enumerable.Range(1, 5).Select(i => Path.Combine(root, $"data_batch_{i}.bin")).ToArray();
        var testFile = Path.Combine(root, "test_batch.bin");
        RequireFiles("cifar10", trainFiles.Append(testFile), files);
        var names = CifarReader.ReadClassNames(Path.Combine(root, "batches.meta.txt"), 10);
        var train = CifarReader.ReadCifar10("cifar10/train", trainFiles, names);
        var test = CifarReader.ReadCifar10("cifar10/test", [testFile], names);
        return new Dataset("cifar10", root, train, test);
    }

    static Dataset LoadCifar100(string folder, string files)
    {
        var root = Directory.Exists(Path.Combine(folder, "cifar-100-binary")) ? Path.Combine(folder, "cifar-100-binary") : folder;
        var trainFile = Path.Combine(root, "train.bin");
        var testFile = Path.Combine(root, "test.bin");
        RequireFiles("cifar100", [trainFile, testFile], files);
        var names = CifarReader.ReadClassNames(Path.Combine(root, "fine_label_names.txt"), 100);
        var train = CifarReader.ReadCifar100("cifar100/train", [trainFile], names);
        var test = CifarReader.ReadCifar100("cifar100/test", [testFile], names);
        return new Dataset("cifar100", root, train, test);
    }

    static Dataset LoadSvhn(string folder, string files)
    {
        var trainFile = Path.Combine(folder, "train_32x32.mat");
        var testFile = Path.Combine(folder, "test_32x32.mat");
        RequireFiles("svhn", [trainFile, testFile], files);
        var train = SvhnReader.Read("svhn/train", trainFile);
        var test = SvhnReader.Read("svhn/test", testFile);
        CheckSameShape("svhn", train, test);
        return new Dataset("svhn", folder, train, test);
    }

    static void RequireFiles(string name, IEnumerable<string> paths, string files)
    {
        var missing = paths.FirstOrDefault(p => !File.Exists(p));
        if (missing is not null) throw new LetheException($"{name}: {missing} not found; the folder must hold {files}");
    }

    static void CheckSameShape(string name, ImageSet train, ImageSet test)
    {
        if (train.Channels != test.Channels || train.Height != test.Height || train.Width != test.Width)
            throw new LetheException(
                $"{name}: training images are {train.Channels}x{train.Height}x{train.Width} but test images are {test.Channels}x{test.Height}x{test.Width}");
    }
}
