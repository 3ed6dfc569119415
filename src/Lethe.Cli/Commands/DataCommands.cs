using System.CommandLine;
using Lethe.Data;
using Lethe.Storage;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>`lethe data info` and `lethe data split`.</summary>
public static class DataCommands
{
    public static Command Build(IAnsiConsole console)
    {
        var data = new Command("data", "Inspect data sets and draw membership splits");
        data.Subcommands.Add(Info(console));
        data.Subcommands.Add(Split(console));
        return data;
    }

    static Command Info(IAnsiConsole console)
    {
        var dataset = CommonOptions.Dataset();
        var dataDir = CommonOptions.DataDir();
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON" };
        var ids = new Option<bool>("--ids") { Description = "List every sample's id, split and class instead (tab-separated): the names forget and member lists use" };
        var folder = new CommonOptions.FolderOptionSet();
        var command = new Command("info", "Counts, image shape, classes and per-class counts of a data set") { dataset, dataDir, json, ids };
        foreach (var option in folder.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var name = parse.GetValue(dataset)!;
            var folderOptions = folder.Read(parse, name, parse.GetValue(dataDir));
            ImageFolder.ReadReport? report = null;
            var loaded = folderOptions is null ? Datasets.Load(Datasets.Parse(name), parse.GetValue(dataDir))
                : ImageFolder.Load(folderOptions, out report, m => console.MarkupLineInterpolated($"[grey]{m}[/]"));
            if (parse.GetValue(ids))
            {
                foreach (var (split, set) in new[] { ("train", loaded.Train), ("test", loaded.Test) })
                {
                    for (var i = 0; i < set.Count; i++) console.Profile.Out.Writer.WriteLine($"{set.SampleId(i)}\t{split}\t{set.ClassNames[set.Labels[i]]}");
                }
                return LetheCli.Ok;
            }
            var summary = DatasetSummary.Of(loaded);
            if (parse.GetValue(json))
            {
                console.Profile.Out.Writer.WriteLine(LetheJson.Serialize(summary));
                return LetheCli.Ok;
            }
            console.Write(new Rule($"[bold]{Markup.Escape(summary.Name)}[/]  [grey]{Markup.Escape(summary.Directory)}[/]").LeftJustified());
            var splits = new Table().AddColumns("split", "images", "shape (C x H x W)", "classes", "pixel mean", "pixel std");
            foreach (var s in summary.Splits)
            {
                splits.AddRow(s.Split, $"{s.Count:N0}", s.Shape, $"{s.Classes}", $"{s.PixelMean:F4}", $"{s.PixelStd:F4}");
            }
            console.Write(splits);
            var classes = new Table().AddColumns("label", "class").AddColumns(summary.Splits.Select(s => new TableColumn(s.Split).RightAligned()).ToArray());
            for (var c = 0; c < summary.ClassNames.Count; c++)
            {
                classes.AddRow([$"{c}", Markup.Escape(summary.ClassNames[c]), .. summary.Splits.Select(s => $"{s.PerClass[c]:N0}")]);
            }
            console.Write(classes);
            if (report is not null)
            {
                console.MarkupLineInterpolated($"{(report.FromCache ? "read from the cache" : "decoded")} {(report.CacheFile is { } c ? $"({c})" : "(no writable cache folder)")}; test split: {(folderOptions!.TestRoot is { } t ? t : $"{folderOptions.TestFraction:P0} of the files, by path hash")}");
                if (report.Skipped > 0) console.MarkupLineInterpolated($"[yellow]skipped {report.Skipped} unreadable file(s), e.g. {report.SkippedIds[0]}[/]");
                foreach (var empty in report.EmptyClasses) console.MarkupLineInterpolated($"[yellow]class folder '{empty}' has no training images[/]");
            }
            return LetheCli.Ok;
        });
        return command;
    }

    static Command Split(IAnsiConsole console)
    {
        var dataset = CommonOptions.Dataset();
        var dataDir = CommonOptions.DataDir();
        var defaults = new SplitSettings();
        var members = new Option<int>("--members") { Description = "Members (drawn from the training split)", DefaultValueFactory = _ => defaults.Members };
        var nonMembers = new Option<int>("--non-members") { Description = "Non-members (drawn from the test split)", DefaultValueFactory = _ => defaults.NonMembers };
        var forgetFraction = new Option<double>("--forget-fraction") { Description = "Fraction of the members to forget", DefaultValueFactory = _ => defaults.ForgetFraction };
        var forgetIds = new Option<string?>("--forget-ids") { Description = "File of training-split ids to forget instead (one per line, or a JSON array)" };
        var forgetList = CommonOptions.ForgetList();
        var folder = new CommonOptions.FolderOptionSet();
        var shadowMembers = new Option<int?>("--shadow-members") { Description = "Shadow members for attacks, from the rest of the training split (default: as many as --members)" };
        var shadowNonMembers = new Option<int?>("--shadow-non-members") { Description = "Shadow non-members, from the rest of the training split (default: as many as --non-members)" };
        var seed = new Option<long>("--seed") { Description = "Seed that fixes every draw", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out", "-o") { Description = "Where to write the split manifest (JSON)", Required = true };
        var command = new Command("split", "Draw members, non-members, forget, retain and shadow sets and save them as a manifest")
        {
            dataset, dataDir, members, nonMembers, forgetFraction, forgetIds, forgetList, shadowMembers, shadowNonMembers, seed, output,
        };
        foreach (var option in folder.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var name = parse.GetValue(dataset)!;
            var loaded = Datasets.Load(name, parse.GetValue(dataDir), folder.Read(parse, name, parse.GetValue(dataDir)));
            var settings = new SplitSettings
            {
                Members = parse.GetValue(members),
                NonMembers = parse.GetValue(nonMembers),
                ForgetFraction = parse.GetValue(forgetFraction),
                ShadowMembers = parse.GetValue(shadowMembers),
                ShadowNonMembers = parse.GetValue(shadowNonMembers),
                Seed = parse.GetValue(seed),
            };
            var split = CommonOptions.WithForget(MembershipSplit.Create(settings, loaded, parse.GetValue(forgetIds)), loaded, parse.GetValue(forgetList), null);
            var path = parse.GetValue(output)!;
            split.Save(path);

            var table = new Table().AddColumns("set", "drawn from", "samples").AddColumn(new TableColumn("smallest / largest class").RightAligned());
            void Row(string name, string from, int[] ids, ImageSet source)
            {
                var counts = new int[source.ClassCount];
                foreach (var id in ids) counts[source.Labels[id]]++;
                table.AddRow(name, from, $"{ids.Length:N0}", ids.Length == 0 ? "-" : $"{counts.Min():N0} / {counts.Max():N0}");
            }
            Row("members", "train", split.Members, loaded.Train);
            Row("forget", "members", split.Forget, loaded.Train);
            Row("retain", "members", split.Retain, loaded.Train);
            Row("non-members", "test", split.NonMembers, loaded.Test);
            Row("shadow members", "train", split.ShadowMembers, loaded.Train);
            Row("shadow non-members", "train", split.ShadowNonMembers, loaded.Train);
            console.Write(table);
            console.MarkupLineInterpolated($"Wrote [bold]{Path.GetFullPath(path)}[/] ({loaded.Name}, seed {settings.Seed}, forget set from {split.ForgetSource}).");
            return LetheCli.Ok;
        });
        return command;
    }
}

/// <summary>What `lethe data info` reports, also as JSON.</summary>
public sealed record DatasetSummary(string Name, string Directory, IReadOnlyList<string> ClassNames, IReadOnlyList<SplitSummary> Splits)
{
    public static DatasetSummary Of(Dataset dataset) =>
        new(dataset.Name, dataset.Directory, dataset.Train.ClassNames, [SplitSummary.Of("train", dataset.Train), SplitSummary.Of("test", dataset.Test)]);
}

public sealed record SplitSummary(string Split, int Count, string Shape, int Classes, int[] PerClass, double PixelMean, double PixelStd)
{
    public static SplitSummary Of(string split, ImageSet set)
    {
        double sum = 0, squares = 0;
        foreach (var p in set.Pixels)
        {
            sum += p;
            squares += p * p;
        }
        var n = Math.Max(1, set.Pixels.LongLength);
        var mean = sum / n / 255;
        var variance = Math.Max(0, squares / n / (255.0 * 255) - mean * mean);
        return new(split, set.Count, $"{set.Channels} x {set.Height} x {set.Width}", set.ClassCount, set.ClassCounts(), mean, Math.Sqrt(variance));
    }
}
