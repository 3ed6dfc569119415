using Lethe.Data;
using SkiaSharp;

namespace Lethe.Tests;

public sealed class ImageFolderTests
{
    /// <summary>Writes an image of solid or patterned colour with SkiaSharp, as PNG or JPEG.</summary>
    internal static void WriteImage(string path, int width, int height, Func<int, int, SKColor> pixel, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++) bitmap.SetPixel(x, y, pixel(x, y));
        }
        using var data = bitmap.Encode(format, 95);
        File.WriteAllBytes(path, data.ToArray());
    }

    static TempDir Folder(bool corrupt = true)
    {
        var dir = new TempDir();
        for (var i = 0; i < 6; i++)
        {
            WriteImage(dir.File($"root/ants/a{i}.png"), 8, 8, (x, y) => new SKColor((byte)(10 * x), (byte)(20 * y), (byte)(30 + i), 255));
            WriteImage(dir.File($"root/bees/b{i}.jpg"), 16, 12, (_, _) => new SKColor(200, 100, 50, 255), SKEncodedImageFormat.Jpeg);
        }
        Directory.CreateDirectory(dir.File("root/empty"));
        if (corrupt) File.WriteAllBytes(dir.File("root/bees/broken.png"), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
        File.WriteAllText(dir.File("root/bees/notes.txt"), "not an image");
        return dir;
    }

    [Fact]
    public void Reads_classes_ids_and_exact_png_pixels()
    {
        using var dir = Folder(corrupt: false);
        var options = new FolderOptions { Root = dir.File("root"), TestFraction = 0.3, ImageSize = 8, Channels = 3 };
        var data = ImageFolder.Load(options, out var report);
        Assert.Equal(["ants", "bees", "empty"], data.Train.ClassNames);
        Assert.Equal(12, data.Train.Count + data.Test.Count);
        Assert.Equal(["empty"], report.EmptyClasses);
        var all = data.Train.Ids.Concat(data.Test.Ids).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal("ants/a0.png", all[0]);
        Assert.DoesNotContain(all, id => id.EndsWith(".txt", StringComparison.Ordinal));
        // The split is a hash of the path: the same file always lands on the same side.
        foreach (var id in data.Test.Ids) Assert.True(ImageFolder.InTestSplit(id, 0.3));
        foreach (var id in data.Train.Ids) Assert.False(ImageFolder.InTestSplit(id, 0.3));

        // An 8x8 PNG at size 8 is copied, not resampled: pixel (x=3, y=2) of a2.png is (30, 40, 32), planes R, G, B.
        var set = data.Train.TryFind("ants/a2.png", out var index) ? data.Train : data.Test;
        Assert.True(set.TryFind("ants/a2.png", out index));
        var image = set.Image(index);
        Assert.Equal(30, image[2 * 8 + 3]);
        Assert.Equal(40, image[64 + 2 * 8 + 3]);
        Assert.Equal(32, image[128 + 2 * 8 + 3]);
    }

    [Fact]
    public void Grey_conversion_follows_pillow_and_big_images_are_centre_cropped()
    {
        using var dir = new TempDir();
        // 12 x 6: the centred 6 x 6 square is columns 3..8, coloured (200, 100, 50); the sides are black.
        WriteImage(dir.File("root/c/wide.png"), 12, 6, (x, _) => x is >= 3 and < 9 ? new SKColor(200, 100, 50, 255) : new SKColor(0, 0, 0, 255));
        var target = new byte[3 * 3];
        Assert.Null(ImageFolder.DecodeInto(dir.File("root/c/wide.png"), 3, 1, target));
        // Pillow's L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16 = 124 for (200, 100, 50).
        Assert.All(target, v => Assert.Equal(124, v));
    }

    [Fact]
    public void A_corrupt_file_is_named_or_skipped()
    {
        using var dir = Folder();
        var options = new FolderOptions { Root = dir.File("root"), ImageSize = 8, Channels = 1 };
        var error = Assert.Throws<LetheException>(() => ImageFolder.Load(options));
        Assert.Contains("broken.png", error.Message);
        Assert.Contains("--skip-bad", error.Message);
        var data = ImageFolder.Load(options with { SkipBad = true }, out var report);
        Assert.Equal(1, report.Skipped);
        Assert.Equal("bees/broken.png", report.SkippedIds[0]);
        Assert.Equal(12, data.Train.Count + data.Test.Count);
        Assert.Equal(1, data.Train.Channels);
    }

    [Fact]
    public void Second_load_comes_from_the_cache_and_a_changed_folder_is_decoded_afresh()
    {
        using var dir = Folder(corrupt: false);
        var options = new FolderOptions { Root = dir.File("root"), ImageSize = 8 };
        var first = ImageFolder.Load(options, out var r1);
        var second = ImageFolder.Load(options, out var r2);
        Assert.False(r1.FromCache);
        Assert.True(r2.FromCache);
        Assert.StartsWith(dir.File("root.lethe-cache"), r2.CacheFile);
        Assert.Equal(first.Train.Pixels, second.Train.Pixels);
        Assert.Equal(first.Train.Ids, second.Train.Ids);
        WriteImage(dir.File("root/ants/new.png"), 8, 8, (_, _) => new SKColor(1, 2, 3, 255));
        var third = ImageFolder.Load(options, out var r3);
        Assert.False(r3.FromCache);
        Assert.Equal(13, third.Train.Count + third.Test.Count);
    }

    [Fact]
    public void Forget_lists_name_samples_and_every_bad_line_is_reported_with_its_number()
    {
        using var dir = Folder(corrupt: false);
        var data = ImageFolder.Load(new FolderOptions { Root = dir.File("root"), TestFraction = 0.3, ImageSize = 8 });
        var members = Enumerable.Range(0, data.Train.Count - 1).ToArray();
        var split = MembershipSplit.FromMembers(new SplitSettings { NonMembers = 2, Seed = 1 }, data, members, "members");
        Assert.NotNull(split.Fingerprint);

        var ids = members.Select(data.Train.SampleId).ToArray();
        void Write(params string[] lines) => File.WriteAllLines(dir.File("forget.txt"), lines);
        Write("# two members", ids[0], "./" + ids[1]);
        var forgot = split.WithForgetList(dir.File("forget.txt"), data);
        Assert.Equal(new[] { members[0], members[1] }.Order(), forgot.Forget);

        Write(ids[0], "ants/missing.png");
        Assert.Contains("line 2: 'ants/missing.png' names no image", Assert.Throws<LetheException>(() => split.WithForgetList(dir.File("forget.txt"), data)).Message);
        Write(ids[0], "", ids[0]);
        Assert.Contains("line 3: '" + ids[0] + "' repeats line 1", Assert.Throws<LetheException>(() => split.WithForgetList(dir.File("forget.txt"), data)).Message);
        Write(data.Train.SampleId(data.Train.Count - 1));
        Assert.Contains("line 1:", Assert.Throws<LetheException>(() => split.WithForgetList(dir.File("forget.txt"), data)).Message);
        Write(data.Test.SampleId(0));
        Assert.Contains("test-split sample", Assert.Throws<LetheException>(() => split.WithForgetList(dir.File("forget.txt"), data)).Message);
        Write("# nothing");
        Assert.Contains("names no samples", Assert.Throws<LetheException>(() => split.WithForgetList(dir.File("forget.txt"), data)).Message);

        // The split remembers the files it was drawn for.
        split.Save(dir.File("split.json"));
        Assert.Equal(split.Members, MembershipSplit.Load(dir.File("split.json"), data).Members);
        File.Move(dir.File("root/ants/a0.png"), dir.File("root/ants/z0.png"));
        var renamed = ImageFolder.Load(new FolderOptions { Root = dir.File("root"), TestFraction = 0.3, ImageSize = 8 });
        if (renamed.Train.Count == data.Train.Count && renamed.Test.Count == data.Test.Count)
            Assert.Contains("other files", Assert.Throws<LetheException>(() => MembershipSplit.Load(dir.File("split.json"), renamed)).Message);
        else
            Assert.Throws<LetheException>(() => MembershipSplit.Load(dir.File("split.json"), renamed));
    }

    [Fact]
    public void A_test_folder_gives_the_non_members_under_the_root_classes()
    {
        using var dir = Folder(corrupt: false);
        WriteImage(dir.File("held-out/bees/t0.png"), 8, 8, (_, _) => new SKColor(9, 9, 9, 255));
        WriteImage(dir.File("held-out/bees/t1.png"), 8, 8, (_, _) => new SKColor(9, 9, 9, 255));
        var data = ImageFolder.Load(new FolderOptions { Root = dir.File("root"), TestRoot = dir.File("held-out"), ImageSize = 8 });
        Assert.Equal(12, data.Train.Count);
        Assert.Equal(["bees/t0.png", "bees/t1.png"], data.Test.Ids);
        Assert.All(data.Test.Labels, l => Assert.Equal(1, l));
        WriteImage(dir.File("held-out/wasps/w0.png"), 8, 8, (_, _) => new SKColor(9, 9, 9, 255));
        Assert.Contains("'wasps' has no counterpart", Assert.Throws<LetheException>(
            () => ImageFolder.Load(new FolderOptions { Root = dir.File("root"), TestRoot = dir.File("held-out"), ImageSize = 8 })).Message);
    }

    [Fact]
    public void Index_ids_of_the_fixed_formats()
    {
        var set = new ImageSet("t", new byte[4 * 4], [0, 1, 0, 1], 1, 2, 2, ["a", "b"]);
        Assert.False(set.HasNamedIds);
        Assert.Equal("3", set.SampleId(3));
        Assert.True(set.TryFind("2", out var i) && i == 2);
        Assert.False(set.TryFind("4", out _));
        Assert.False(set.TryFind("-1", out _));
        Assert.False(set.TryFind("x", out _));
        Assert.Null(set.Fingerprint());
    }
}
