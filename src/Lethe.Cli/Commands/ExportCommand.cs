using System.CommandLine;
using Lethe.Models;
using Lethe.Runtime;
using Lethe.Storage;
using Spectre.Console;
using static TorchSharp.torch;

namespace Lethe.Cli.Commands;

/// <summary>
/// `lethe export`: writes a run's model, or an unlearned checkpoint, as a PyTorch state dict (.safetensors or .pt) in a
/// library's layout, then reads the file back and checks every tensor.
/// </summary>
public static class ExportCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var run = new Option<string?>("--run") { Description = "Run folder whose final.ckpt to export (or whose recipe a --checkpoint belongs to)" };
        var checkpoint = new Option<string?>("--checkpoint", "-c") { Description = "Checkpoint to export, e.g. RUN/unlearn-targeted/unlearned.ckpt (its run is found as `lethe audit` finds it)" };
        var to = new Option<string>("--to") { Description = "File to write: model.safetensors or model.pt (torch.save format)", Required = true };
        var layout = new Option<string?>("--layout", "-l")
        {
            Description = $"Key names to write: {string.Join(", ", KeyMapping.BuiltIn)} or a mapping JSON file (default: the layout the run was imported with, else lethe)",
        };
        var dataDir = CommonOptions.DataDir();
        var command = new Command("export", "Write a model as a PyTorch state dict that PyTorch loads into the same architecture") { run, checkpoint, to, layout, dataDir };
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var (target, _, checkpointPath) = AuditCommand.Resolve(parse.GetValue(run), parse.GetValue(checkpoint), parse.GetValue(dataDir));
            var mapping = KeyMapping.Load(parse.GetValue(layout) ?? (ImportReport.Find(target.Folder)?.Layout is { } imported && KeyMapping.BuiltIn.Contains(imported) ? imported : "lethe"));
            var path = parse.GetValue(to)!;
            StateDictFile.FormatOf(path);
            using var model = target.LoadModel(device, checkpointPath);
            var (state, dropped) = ModelImport.Export(model, mapping);
            if (state.Count == 0) throw new LetheException($"the {mapping.Name} layout has no place for any tensor of a {model.Architecture} model");
            StateDictFile.Write(path, state);

            // Read the file back: every tensor must come out as written.
            var back = StateDictFile.Read(path).ToDictionary(p => p.Key, p => p.Value);
            var differ = state.Where(p => !back.TryGetValue(p.Key, out var t) || !t.shape.SequenceEqual(p.Value.shape) || !t.to(p.Value.dtype).allclose(p.Value.cpu(), 0, 0)).Select(p => p.Key).ToList();
            if (differ.Count > 0 || back.Count != state.Count)
                throw new InvalidOperationException($"{path} does not read back as written ({differ.FirstOrDefault() ?? "tensor count"})");
            foreach (var tensor in back.Values.Concat(state.Select(p => p.Value))) tensor.Dispose();

            console.MarkupLineInterpolated($"Wrote {Path.GetFullPath(path)}: {state.Count} tensors of {Path.GetFullPath(checkpointPath)} ({model.Architecture}) in the {mapping.Name} layout; read back and identical.");
            if (dropped.Count > 0)
                console.MarkupLineInterpolated($"[grey]not written (the layout has no place for them): {string.Join(", ", dropped.Take(6))}{(dropped.Count > 6 ? $" (+{dropped.Count - 6} more)" : "")}[/]");
            return LetheCli.Ok;
        });
        return command;
    }
}
