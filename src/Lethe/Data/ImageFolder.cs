using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lethe.Storage;
using SkiaSharp;

namespace Lethe.Data;

/// <summary>
/// How to read an image folder: its root, where the non-members come from (a separate <see cref="TestRoot"/>, or a
/// <see cref="TestFraction"/> of the root chosen by a hash of each file's path), and the size and channels every image
/// is converted to. Saved with a run, so that a run reopens on the same images.
/// </summary>
public sealed record FolderOptions
{
    public string Root { get; init; } = "";

    /// <summary>A second folder of the same layout whose images are the test split (the non-members); null: split the root.</summary>
    public string? TestRoot { get; init; }

    /// <summary>Share of the root's images put in the test split when there is no <see cref="TestRoot"/>.</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Images are made ImageSize x ImageSize (see docs/image-folders.md).</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>1 (grey, as Pillow's convert("L")) or 3 (RGB; alpha is dropped).</summary>
    public int Channels { get; init; } = 3;

    /// <summary>Skip files that do not decode instead of failing on the first one.</summary>
    public bool SkipBad { get; init; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Root)) throw new LetheException("the folder data set needs --data-dir: a folder with one sub-folder of images per class");
        if (ImageSize is < 4 or > 1024) throw new LetheException($"image size must lie in 4..1024, not {ImageSize}");
        if (Channels is not (1 or 3)) throw new LetheException($"channels must be 1 or 3, not {Channels}");
        if (TestRoot is null && !(TestFraction > 0 && TestFraction < 1))
            throw new LetheException($"test fraction must lie between 0 and 1 (exclusive), not {TestFraction}; or give --test-dir");
    }
}

/// <summary>
/// Reads images in torchvision's ImageFolder layout, <c>root/&lt;class&gt;/&lt;file&gt;</c> (png, jpg, jpeg, bmp,
/// webp; class folders sorted by ordinal name, as torchvision sorts them; hidden files and folders skipped). Each image is
/// decoded with SkiaSharp, cut to its centred square, scaled to the chosen size (halved by 2x2 averaging while at least
/// twice too big, then bilinear) and converted to the chosen channels. Each sample's id is its path relative to the root,
/// with '/' separators. The decoded images are cached beside the root, keyed by a hash of the file list and the options.
/// </summary>
public static class ImageFolder
{
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp"];

    const string CacheMagic = "LETHEIMG";
    const int CacheVersion = 1;

    /// <summary>One image file: its id (relative path), full path and class.</summary>
    public sealed record Entry(string Id, string Path, int Label, long Length, DateTime Modified);

    /// <summary>What reading a folder skipped.</summary>
    public sealed record ReadReport(int Skipped, IReadOnlyList<string> SkippedIds, IReadOnlyList<string> EmptyClasses, bool FromCache, string? CacheFile);

    /// <summary>Loads both splits (see <see cref="FolderOptions"/>).</summary>
    public static Dataset Load(FolderOptions options, Action<string>? log = null) => Load(options, out _, log);

    public static Dataset Load(FolderOptions options, out ReadReport report, Action<string>? log = null)
    {
        options.Validate();
        var root = System.IO.Path.GetFullPath(options.Root);
        var classes = Classes(root);
        var entries = Scan(root, classes);
        List<Entry> train, test;
        if (options.TestRoot is { } testRoot)
        {
            var testFull = System.IO.Path.GetFullPath(testRoot);
            var testClasses = Classes(testFull);
            var unknown = testClasses.FirstOrDefault(c => !classes.Contains(c));
            if (unknown is not null) throw new LetheException($"{testFull}: class folder '{unknown}' has no counterpart in {root}");
            train = entries;
            test = Scan(testFull, classes);
        }
        else
        {
            train = entries.Where(e => !InTestSplit(e.Id, options.TestFraction)).ToList();
            test = entries.Where(e => InTestSplit(e.Id, options.TestFraction)).ToList();
        }
        if (train.Count == 0) throw new LetheException($"{root}: no training images (found {entries.Count} image files in {classes.Count} class folders)");
        if (test.Count == 0) throw new LetheException($"{options.TestRoot ?? root}: no test images for the non-members; give --test-dir or a larger --test-fraction");

        var trainSet = Decode($"folder/train", train, classes, options, root, out var trainReport, log);
        var testSet = Decode($"folder/test", test, classes, options, options.TestRoot is null ? root : System.IO.Path.GetFullPath(options.TestRoot), out var testReport, log);
        var counts = trainSet.ClassCounts();
        var empty = classes.Where((_, c) => counts[c] == 0).ToList();
        report = new ReadReport(trainReport.Skipped + testReport.Skipped, [.. trainReport.SkippedIds, .. testReport.SkippedIds], empty,
            trainReport.FromCache && testReport.FromCache, trainReport.CacheFile);
        return new Dataset("folder", root, trainSet, testSet);
    }

    /// <summary>The class folders of <paramref name="root"/>, sorted by ordinal name.</summary>
    public static List<string> Classes(string root)
    {
        if (!Directory.Exists(root)) throw new LetheException($"image folder not found: {root}");
        var classes = Directory.EnumerateDirectories(root).Select(System.IO.Path.GetFileName).OfType<string>()
            .Where(n => !n.StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        if (classes.Count == 0) throw new LetheException($"{root} holds no class folders: lay images out as ROOT/<class>/<file>.png|jpg|jpeg|bmp|webp");
        return classes;
    }

    /// <summary>Every image file under the class folders, sorted by id.</summary>
    static List<Entry> Scan(string root, List<string> classes)
    {
        var entries = new List<Entry>();
        for (var label = 0; label < classes.Count; label++)
        {
            var folder = System.IO.Path.Combine(root, classes[label]);
            if (!Directory.Exists(folder)) continue;
            foreach (var file in Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden }))
            {
                var relative = System.IO.Path.GetRelativePath(root, file).Replace('\\', '/');
                if (relative.Split('/').Any(part => part.StartsWith('.'))) continue;
                if (!Extensions.Contains(System.IO.Path.GetExtension(file).ToLowerInvariant())) continue;
                var info = new FileInfo(file);
                entries.Add(new Entry(relative, file, label, info.Length, info.LastWriteTimeUtc));
            }
        }
        entries.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return entries;
    }

    /// <summary>Whether a file belongs to the test split: the first 8 bytes of SHA-256 of its id, as a fraction of 2^64.</summary>
    public static bool InTestSplit(string id, double fraction)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("lethe-test-split:" + id));
        return BinaryPrimitives.ReadUInt64BigEndian(hash) / 18446744073709551616.0 < fraction;
    }

    static ImageSet Decode(string name, List<Entry> entries, List<string> classes, FolderOptions options, string root, out ReadReport report, Action<string>? log)
    {
        var key = CacheKey(entries, classes, options);
        var cacheFile = CachePath(root, name, key);
        if (cacheFile is not null && TryReadCache(cacheFile, key, name, classes, out var cached, out var cachedSkipped))
        {
            report = new ReadReport(cachedSkipped.Count, cachedSkipped, [], true, cacheFile);
            return cached;
        }
        var size = options.ImageSize;
        var imageBytes = options.Channels * size * size;
        var pixels = new byte[(long)entries.Count * imageBytes];
        var ok = new bool[entries.Count];
        var errors = new string?[entries.Count];
        var done = 0;
        var started = DateTime.UtcNow;
        Parallel.For(0, entries.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            errors[i] = DecodeInto(entries[i].Path, size, options.Channels, pixels.AsSpan((int)((long)i * imageBytes), imageBytes));
            ok[i] = errors[i] is null;
            var n = Interlocked.Increment(ref done);
            if (log is not null && n % 2000 == 0) log($"{name}: decoded {n:N0} of {entries.Count:N0} images ({n / Math.Max(1e-3, (DateTime.UtcNow - started).TotalSeconds):F0}/s)");
        });
        var bad = Enumerable.Range(0, entries.Count).Where(i => !ok[i]).ToList();
        if (bad.Count > 0 && !options.SkipBad)
            throw new LetheException($"{entries[bad[0]].Path}: {errors[bad[0]]}{(bad.Count > 1 ? $" ({bad.Count} unreadable files in all)" : "")}; pass --skip-bad to skip such files");
        var kept = Enumerable.Range(0, entries.Count).Where(i => ok[i]).ToList();
        if (kept.Count == 0) throw new LetheException($"{root}: none of the {entries.Count} image files of {name} could be read");
        byte[] keptPixels;
        if (bad.Count == 0) keptPixels = pixels;
        else
        {
            keptPixels = new byte[(long)kept.Count * imageBytes];
            for (var k = 0; k < kept.Count; k++)
                pixels.AsSpan((int)((long)kept[k] * imageBytes), imageBytes).CopyTo(keptPixels.AsSpan((int)((long)k * imageBytes)));
        }
        var set = new ImageSet(name, keptPixels, kept.Select(i => entries[i].Label).ToArray(), options.Channels, size, size, classes,
            kept.Select(i => entries[i].Id).ToArray());
        var skipped = bad.Select(i => entries[i].Id).ToList();
        if (cacheFile is not null) TryWriteCache(cacheFile, key, set, skipped);
        report = new ReadReport(skipped.Count, skipped, [], false, cacheFile);
        return set;
    }

    /// <summary>Decodes one file into <paramref name="target"/> (C x size x size); returns why it failed, or null.</summary>
    internal static string? DecodeInto(string path, int size, int channels, Span<byte> target)
    {
        SKBitmap? bitmap;
        try
        {
            using var stream = File.OpenRead(path);
            using var codec = SKCodec.Create(stream, out var result);
            if (codec is null) return $"not a readable image ({result})";
            var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            bitmap = new SKBitmap(info);
            var decoded = codec.GetPixels(info, bitmap.GetPixels());
            if (decoded != SKCodecResult.Success)
            {
                bitmap.Dispose();
                return decoded == SKCodecResult.IncompleteInput ? "the image is truncated" : $"the image does not decode ({decoded})";
            }
        }
        catch (IOException e)
        {
            return $"cannot be read ({e.Message})";
        }
        using (bitmap)
        {
            using var square = CentreSquare(bitmap, size);
            var rgba = square.GetPixelSpan();
            var plane = size * size;
            for (var p = 0; p < plane; p++)
            {
                byte r = rgba[4 * p], g = rgba[4 * p + 1], b = rgba[4 * p + 2];
                if (channels == 1) target[p] = (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
                else
                {
                    target[p] = r;
                    target[plane + p] = g;
                    target[2 * plane + p] = b;
                }
            }
        }
        return null;
    }

    /// <summary>The centred square of side min(w, h), scaled to size x size.</summary>
    static SKBitmap CentreSquare(SKBitmap bitmap, int size)
    {
        var side = Math.Min(bitmap.Width, bitmap.Height);
        var current = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var left = (bitmap.Width - side) / 2;
        var top = (bitmap.Height - side) / 2;
        if (!bitmap.ExtractSubset(current, new SKRectI(left, top, left + side, top + side)))
            throw new InvalidOperationException("could not cut the centred square");
        current = current.Copy();
        var sampling = new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None);
        while (current.Width != size)
        {
            // Halving with bilinear sampling at pixel centres averages 2x2 blocks: an anti-aliased shrink.
            var next = current.Width >= 2 * size ? current.Width / 2 : size;
            var scaled = current.Resize(new SKImageInfo(next, next, SKColorType.Rgba8888, SKAlphaType.Unpremul), sampling)
                ?? throw new InvalidOperationException($"could not scale a {current.Width}-pixel square to {next}");
            current.Dispose();
            current = scaled;
        }
        return current;
    }

    static string CacheKey(List<Entry> entries, List<string> classes, FolderOptions options)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"v{CacheVersion};size={options.ImageSize};channels={options.Channels};skipBad={options.SkipBad}\n");
        foreach (var c in classes) text.Append("class:").Append(c).Append('\n');
        foreach (var e in entries) text.Append(CultureInfo.InvariantCulture, $"{e.Id}\t{e.Label}\t{e.Length}\t{e.Modified.Ticks}\n");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>ROOT.lethe-cache/ beside the root (never inside: torchvision would read it as a class), else the user's cache folder.</summary>
    static string? CachePath(string root, string name, string key)
    {
        var file = $"{name.Replace('/', '-')}-{key[..16]}.bin";
        var beside = root.TrimEnd('/', '\\') + ".lethe-cache";
        if (CanWrite(beside)) return System.IO.Path.Combine(beside, file);
        var home = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var user = System.IO.Path.Combine(home, "lethe", "folders", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(root)))[..16]);
        return CanWrite(user) ? System.IO.Path.Combine(user, file) : null;
    }

    static bool CanWrite(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = System.IO.Path.Combine(folder, $".probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    sealed record CacheHeader(string Key, string[] Ids, int[] Labels, int Channels, int Size, string[] Skipped);

    static void TryWriteCache(string path, string key, ImageSet set, List<string> skipped)
    {
        try
        {
            var header = JsonSerializer.SerializeToUtf8Bytes(new CacheHeader(key, [.. set.Ids], set.Labels, set.Channels, set.Height, [.. skipped]));
            AtomicFile.Write(path, stream =>
            {
                using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
                writer.Write(Encoding.ASCII.GetBytes(CacheMagic));
                writer.Write(CacheVersion);
                writer.Write(header.Length);
                writer.Write(header);
                writer.Write(set.Pixels);
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A cache is an optimisation: a read-only disk only costs the next run its decoding time.
        }
    }

    static bool TryReadCache(string path, string key, string name, List<string> classes, out ImageSet set, out List<string> skipped)
    {
        set = null!;
        skipped = [];
        if (!File.Exists(path)) return false;
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            if (Encoding.ASCII.GetString(reader.ReadBytes(CacheMagic.Length)) != CacheMagic || reader.ReadInt32() != CacheVersion) return false;
            var header = JsonSerializer.Deserialize<CacheHeader>(reader.ReadBytes(reader.ReadInt32()));
            if (header is null || header.Key != key) return false;
            var bytes = (long)header.Ids.Length * header.Channels * header.Size * header.Size;
            var pixels = reader.ReadBytes((int)bytes);
            if (pixels.LongLength != bytes) return false;
            set = new ImageSet(name, pixels, header.Labels, header.Channels, header.Size, header.Size, classes, header.Ids);
            skipped = [.. header.Skipped];
            return true;
        }
        catch (Exception e) when (e is IOException or JsonException or ArgumentException or EndOfStreamException)
        {
            return false; // a damaged cache is decoded afresh and rewritten
        }
    }
}
