using System.CommandLine;
using Lethe.Data;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Cli.Commands;

/// <summary>
/// `lethe import`: a model trained elsewhere (a PyTorch state dict, .pt/.pth/.ckpt or .safetensors) becomes a Lethe run
/// folder (settings.json, split.json, final.ckpt, import.json) that `lethe unlearn`, `audit` and `export` accept.
/// </summary>
public static class ImportCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var weights = new Option<string>("--weights", "-w") { Description = "The state dict: .pt, .pth, .ckpt (torch.save; Lightning's nesting under state_dict is read) or .safetensors", Required = true };
        var layout = new Option<string>("--layout", "-l")
        {
            Description = $"How the file names its tensors: {string.Join(", ", KeyMapping.BuiltIn)}, or a mapping JSON file (docs/own-model.md)",
            DefaultValueFactory = _ => "torchvision",
        };
        var method = new Option<string?>("--method", "-m") { Description = "The learner: simclr, moco, byol or classifier (default: inferred from the tensors present)" };
        var stem = new Option<string?>("--stem") { Description = "ResNet-18 stem: cifar, cifar-pad2 or imagenet (default: imagenet for a 7x7 first convolution, else the layout's CIFAR stem)" };
        var ignore = new Option<string[]>("--ignore") { Description = "Skip file keys that start with this prefix (repeatable), e.g. fc. to import a classifier's backbone", AllowMultipleArgumentsPerToken = true };
        var dataset = CommonOptions.Dataset();
        var dataDir = CommonOptions.DataDir();
        var folder = new CommonOptions.FolderOptionSet();
        var members = new Option<string>("--members") { Description = "File naming the samples the model was trained on (one id per line), or 'all' for the whole training split", Required = true };
        var nonMembers = new Option<int>("--non-members") { Description = "Non-members drawn from the test split (at most all of it)", DefaultValueFactory = _ => 10_000 };
        var forgetList = CommonOptions.ForgetList();
        var forgetFraction = new Option<double>("--forget-fraction") { Description = "Without --forget-list: share of the members drawn as the split's forget set", DefaultValueFactory = _ => 0.2 };
        var preset = new Option<string>("--preset") { Description = $"Recipe the run records for retraining and for unlearning's training loss: {string.Join(", ", TrainingPresets.Names)}", DefaultValueFactory = _ => "overfit" };
        var augmentation = new Option<string?>("--augmentation") { Description = "The augmentation the model was trained with, which EncoderMI's views use: standard, weak or none (default: the preset's)" };
        var seed = new Option<long>("--seed") { Description = "Seed of the split and of anything initialised rather than imported", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out", "-o") { Description = "Run folder to write", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace a run already in --out" };
        var command = new Command("import", "Bring a PyTorch-trained encoder or classifier in as a Lethe run (then: lethe unlearn/audit/export --run OUT)")
        {
            weights, layout, method, stem, ignore, dataset, dataDir, members, nonMembers, forgetList, forgetFraction, preset, augmentation, seed, output, force,
        };
        foreach (var option in folder.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var outFolder = parse.GetValue(output)!;
            if (File.Exists(Path.Combine(outFolder, RunFolder.SettingsFile)) && !parse.GetValue(force))
                throw new LetheException($"{outFolder} already holds a run: pass --force to replace it");
            var datasetName = parse.GetValue(dataset)!;
            var folderOptions = folder.Read(parse, datasetName, parse.GetValue(dataDir));
            var data = Datasets.Load(datasetName, parse.GetValue(dataDir), folderOptions, m => console.MarkupLineInterpolated($"[grey]{m}[/]"));
            var path = parse.GetValue(weights)!;
            var mapping = KeyMapping.Load(parse.GetValue(layout)!);
            var request = new ModelImport.Request { Method = parse.GetValue(method), Stem = parse.GetValue(stem), Ignore = parse.GetValue(ignore) ?? [] };

            var state = StateDictFile.Read(path);
            var (canonical, ignored) = ModelImport.Map(path, state, mapping, request.Ignore);
            var (learnerName, encoder) = ModelImport.Infer(path, canonical, mapping, request, data);
            var recipe = TrainingPresets.Get(parse.GetValue(preset)!, learnerName);
            var settings = recipe with
            {
                Dataset = data.Name,
                Folder = folderOptions,
                Encoder = encoder,
                Augmentation = parse.GetValue(augmentation) is { } a ? AugmentationSettings.FromName(a) : recipe.Augmentation,
                Seed = parse.GetValue(seed),
            };
            var memberIds = parse.GetValue(members)! == "all" ? Enumerable.Range(0, data.Train.Count).ToList() : SampleList.ReadMembers(parse.GetValue(members)!, data);
            var splitSettings = new SplitSettings { NonMembers = parse.GetValue(nonMembers), ForgetFraction = parse.GetValue(forgetFraction), Seed = settings.Seed };
            var split = MembershipSplit.FromMembers(splitSettings, data, memberIds, parse.GetValue(members)!, parse.GetValue(forgetList));
            settings = settings with { Members = split.Members.Length, NonMembers = split.NonMembers.Length, ForgetFraction = splitSettings.ForgetFraction };
            settings.Validate();

            var train = data.Train;
            using var model = Seeds.WithGlobalGenerator(Seeds.Derive(settings.Seed, "import/init"),
                () => TrainingMethods.Get(settings.Method).Create(settings, train.Channels, train.Height, train.Width, train.ClassCount));
            var (loaded, folded, filled) = ModelImport.Load(path, canonical, mapping, model);
            if (model.state_dict().Values.FirstOrDefault(t => t.is_floating_point() && !t.isfinite().all().item<bool>()) is not null)
                throw new LetheException($"{path}: holds NaN or infinite weights");
            model.to(device);

            var report = new ImportReport
            {
                Source = Path.GetFullPath(path),
                SourceSha256 = Checkpoint.FileSha256(path),
                Layout = mapping.Name,
                Method = settings.Method,
                Encoder = settings.Encoder,
                TensorsRead = state.Count,
                TensorsLoaded = loaded,
                Ignored = [.. ignored],
                Folded = [.. folded],
                Filled = [.. filled],
            };
            var run = new RunFolder(outFolder);
            run.StartFresh(settings, split);
            LetheJson.WriteFile(run.File(ImportReport.FileName), report);
            Checkpoint.Save(run.File(RunFolder.FinalCheckpoint), model, settings.Architecture, epoch: 0, settings.Seed, settings);
            foreach (var tensor in state.Select(p => p.Value)) tensor.Dispose();

            var table = new Table().AddColumns("import", "value");
            table.AddRow("model", Markup.Escape($"{settings.Architecture} (width {settings.Encoder.Width}{(settings.Encoder.Architecture == "resnet18" ? $", {settings.Encoder.StemKind} stem" : "")}{(settings.IsEncoder ? $", head {settings.Encoder.HeadHidden}->{settings.Encoder.HeadDim}, batch norm {settings.Encoder.HeadNormKind}" : "")})"));
            table.AddRow("tensors", $"{loaded} loaded of {state.Count} read ({ignored.Count} ignored by the layout)");
            foreach (var f in folded) table.AddRow("folded", Markup.Escape(f));
            foreach (var f in filled) table.AddRow("filled", Markup.Escape(f));
            table.AddRow("split", $"{split.Members.Length} members ({split.Forget.Length} to forget), {split.NonMembers.Length} non-members, {split.ShadowMembers.Length} + {split.ShadowNonMembers.Length} shadow");
            console.Write(table);
            console.MarkupLineInterpolated($"Wrote {Path.GetFullPath(outFolder)} (settings.json, split.json, {ImportReport.FileName}, final.ckpt). Next: lethe audit --run {outFolder}; lethe unlearn --run {outFolder} --forget-list FILE; lethe export --run {outFolder} --to model.safetensors");
            return LetheCli.Ok;
        });
        return command;
    }
}
