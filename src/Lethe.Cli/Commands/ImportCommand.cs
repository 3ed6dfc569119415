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
        var options = new ImportOptions(new Option<string>("--weights", "-w") { Description = WeightsHelp, Required = true });
        options.Members.Required = true;
        var output = new Option<string>("--out", "-o") { Description = "Run folder to write", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace a run already in --out" };
        var command = new Command("import", "Bring a PyTorch-trained encoder or classifier in as a Lethe run (then: lethe unlearn/audit/export --run OUT)") { output, force };
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var outFolder = parse.GetValue(output)!;
            if (File.Exists(Path.Combine(outFolder, RunFolder.SettingsFile)) && !parse.GetValue(force))
                throw new LetheException($"{outFolder} already holds a run: pass --force to replace it");
            options.Import(parse, outFolder, console, device);
            console.MarkupLineInterpolated($"Wrote {Path.GetFullPath(outFolder)} (settings.json, split.json, {ImportReport.FileName}, final.ckpt). Next: lethe audit --run {outFolder}; lethe unlearn --run {outFolder} --forget-list FILE; lethe export --run {outFolder} --to model.safetensors");
            return LetheCli.Ok;
        });
        return command;
    }

    public const string WeightsHelp = "The state dict: .pt, .pth, .ckpt (torch.save; Lightning's nesting under state_dict is read) or .safetensors";

    /// <summary>The options of an import (shared by `lethe import` and `lethe store init --import`) and the import itself.</summary>
    public sealed class ImportOptions(Option<string> weights)
    {
        public Option<string> Weights { get; } = weights;

        public Option<string> Layout { get; } = new("--layout", "-l")
        {
            Description = $"How the file names its tensors: {string.Join(", ", KeyMapping.BuiltIn)}, or a mapping JSON file (docs/own-model.md)",
            DefaultValueFactory = _ => "torchvision",
        };

        public Option<string?> Method { get; } = new("--method", "-m") { Description = "The learner: simclr, moco, byol or classifier (default: inferred from the tensors present)" };

        public Option<string?> Stem { get; } = new("--stem") { Description = "ResNet-18 stem: cifar, cifar-pad2 or imagenet (default: imagenet for a 7x7 first convolution, else the layout's CIFAR stem)" };

        public Option<string[]> Ignore { get; } = new("--ignore") { Description = "Skip file keys that start with this prefix (repeatable), e.g. fc. to import a classifier's backbone", AllowMultipleArgumentsPerToken = true };

        public Option<string> Dataset { get; } = CommonOptions.Dataset();

        public Option<string?> DataDir { get; } = CommonOptions.DataDir();

        public CommonOptions.FolderOptionSet Folder { get; } = new();

        public Option<string> Members { get; } = new("--members") { Description = "File naming the samples the model was trained on (one id per line), or 'all' for the whole training split" };

        public Option<int> NonMembers { get; } = new("--non-members") { Description = "Non-members drawn from the test split (at most all of it)", DefaultValueFactory = _ => 10_000 };

        public Option<string?> ForgetList { get; } = CommonOptions.ForgetList();

        public Option<double> ForgetFraction { get; } = new("--forget-fraction") { Description = "Without --forget-list: share of the members drawn as the split's forget set", DefaultValueFactory = _ => 0.2 };

        public Option<string> Preset { get; } = new("--preset") { Description = $"Recipe the run records for retraining and for unlearning's training loss: {string.Join(", ", TrainingPresets.Names)}", DefaultValueFactory = _ => "overfit" };

        public Option<string?> Augmentation { get; } = new("--augmentation") { Description = "The augmentation the model was trained with, which EncoderMI's views use: standard, weak or none (default: the preset's)" };

        public Option<long> Seed { get; } = new("--seed") { Description = "Seed of the split and of anything initialised rather than imported", DefaultValueFactory = _ => 0 };

        public IEnumerable<Option> All => [Weights, Layout, Method, Stem, Ignore, Dataset, DataDir, Members, NonMembers, ForgetList, ForgetFraction, Preset, Augmentation, Seed, .. Folder.All];

        /// <summary>Imports the weights into a new run folder <paramref name="outFolder"/> and shows what was loaded.</summary>
        public void Import(ParseResult parse, string outFolder, IAnsiConsole console, Device device)
        {
            var membersFile = parse.GetValue(Members) ?? throw new LetheException($"{Weights.Name} needs --members: the file naming the samples the model was trained on, or 'all'");
            var datasetName = parse.GetValue(Dataset)!;
            var folderOptions = Folder.Read(parse, datasetName, parse.GetValue(DataDir));
            var data = Datasets.Load(datasetName, parse.GetValue(DataDir), folderOptions, m => console.MarkupLineInterpolated($"[grey]{m}[/]"));
            var path = parse.GetValue(Weights)!;
            var mapping = KeyMapping.Load(parse.GetValue(Layout)!);
            var request = new ModelImport.Request { Method = parse.GetValue(Method), Stem = parse.GetValue(Stem), Ignore = parse.GetValue(Ignore) ?? [] };

            var state = StateDictFile.Read(path);
            var (canonical, ignored) = ModelImport.Map(path, state, mapping, request.Ignore);
            var (learnerName, encoder) = ModelImport.Infer(path, canonical, mapping, request, data);
            var recipe = TrainingPresets.Get(parse.GetValue(Preset)!, learnerName);
            var settings = recipe with
            {
                Dataset = data.Name,
                Folder = folderOptions,
                Encoder = encoder,
                Augmentation = parse.GetValue(Augmentation) is { } a ? AugmentationSettings.FromName(a) : recipe.Augmentation,
                Seed = parse.GetValue(Seed),
            };
            var memberIds = membersFile == "all" ? Enumerable.Range(0, data.Train.Count).ToList() : SampleList.ReadMembers(membersFile, data);
            var splitSettings = new SplitSettings { NonMembers = parse.GetValue(NonMembers), ForgetFraction = parse.GetValue(ForgetFraction), Seed = settings.Seed };
            var split = MembershipSplit.FromMembers(splitSettings, data, memberIds, membersFile, parse.GetValue(ForgetList));
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
        }
    }
}
