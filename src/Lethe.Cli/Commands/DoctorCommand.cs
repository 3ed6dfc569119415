using System.CommandLine;
using System.Runtime.InteropServices;
using Lethe.Runtime;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Lethe.Cli.Commands;

/// <summary>`lethe doctor`: checks that libtorch loads and computes, and shows the runtime Lethe will use.</summary>
public static class DoctorCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var command = new Command("doctor", "Check that TorchSharp loads and computes here, and show the device, threads and data sets");
        command.SetAction(parse =>
        {
            var settings = CommonOptions.Runtime(parse);
            var device = TorchRuntime.Initialize(settings);
            var computes = SelfTest(device);
            var table = new Table().AddColumns("check", "result");
            table.AddRow("Lethe", typeof(TorchRuntime).Assembly.GetName().Version?.ToString() ?? "?");
            table.AddRow(".NET", Markup.Escape(RuntimeInformation.FrameworkDescription));
            table.AddRow("system", Markup.Escape($"{RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture})"));
            table.AddRow("TorchSharp", typeof(torch).Assembly.GetName().Version?.ToString() ?? "?");
            table.AddRow("device", $"{device} (CUDA available: {Cuda()})");
            table.AddRow("threads", $"{get_num_threads()} of {Environment.ProcessorCount} cores");
            table.AddRow("allocation fill", Markup.Escape(TorchRuntime.AllocationFillReason));
            table.AddRow("double backward", computes ? "[green]ok[/]" : "[red]wrong result[/]");
            foreach (var name in Lethe.Data.Datasets.Names)
            {
                var folder = Lethe.Data.Datasets.DefaultDirectory(Lethe.Data.Datasets.Parse(name));
                if (folder is not null) table.AddRow(name, Directory.Exists(folder) ? $"installed at {folder}" : "not installed");
            }
            console.Write(table);
            return computes ? LetheCli.Ok : LetheCli.InternalError;
        });
        return command;
    }

    // What docs/gpu.md asks a GPU user to look at: whether this build's libtorch sees CUDA, and how many devices.
    static string Cuda()
    {
        if (!torch.cuda.is_available()) return "no";
        var count = torch.cuda.device_count();
        return $"yes, {count} device{(count == 1 ? "" : "s")}";
    }

    // The gradient penalty needs second derivatives: d/dw of (d/dx sum(w x^2))^2 = 8 w x^2 summed, at x = [1, 2], w = 3 is 120.
    static bool SelfTest(Device device)
    {
        using var scope = NewDisposeScope();
        var x = tensor(new double[] { 1, 2 }, device: device).requires_grad_();
        var w = tensor(3.0, device: device).requires_grad_();
        var g = torch.autograd.grad([(w * x.pow(2)).sum()], [x], retain_graph: true, create_graph: true)[0];
        g.pow(2).sum().backward();
        return Math.Abs(w.grad!.item<double>() - 120) < 1e-9;
    }
}
