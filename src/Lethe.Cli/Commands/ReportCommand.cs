using System.CommandLine;
using Lethe.Audits;
using Lethe.Experiments;
using Lethe.Reports;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using Lethe.Unlearning;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>
/// `lethe report`: the demo's report (Markdown and HTML, figures, targets) for any answered forget request on an encoder,
/// against a retrained reference: Lethe's own runs or imported ones.
/// </summary>
public static class ReportCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var unlearned = new Option<string>("--unlearned", "-u") { Description = "The unlearned checkpoint (an unlearned.ckpt with its unlearning.json beside it)", Required = true };
        var retrained = new Option<string>("--retrained", "-r")
        {
            Description = "Run folder of the reference trained without the forget set: lethe pretrain --retrain-of RUN, or a model retrained elsewhere and brought in with lethe import --members RETAINED",
            Required = true,
        };
        var defaults = new AuditSettings();
        var views = new Option<int>("--views") { Description = "Augmented views per image (EncoderMI)", DefaultValueFactory = _ => defaults.Views };
        var noProbe = new Option<bool>("--no-linear-probe") { Description = "Skip the linear probe" };
        var seed = new Option<long>("--seed") { Description = "Seed of the audits' calibration split, views and attack classifiers", DefaultValueFactory = _ => 0 };
        var outFolder = new Option<string?>("--out", "-o") { Description = "Where to write report.md, report.html and the figures (default: the unlearned checkpoint's folder/report)" };
        var dataDir = CommonOptions.DataDir();
        var command = new Command("report", "The demo's report for a forget request answered on any encoder, beside its retrained reference")
        {
            unlearned, retrained, views, noProbe, seed, outFolder, dataDir,
        };
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var audit = new AuditSettings { Views = parse.GetValue(views), LinearProbe = !parse.GetValue(noProbe), Seed = parse.GetValue(seed) };
            audit.Validate();
            var checkpoint = parse.GetValue(unlearned)!;
            var (run, split, _) = AuditCommand.Resolve(null, checkpoint, parse.GetValue(dataDir));
            var requestFolder = Path.GetDirectoryName(Path.GetFullPath(checkpoint))!;
            var request = ForgetRequest.Find(requestFolder) is { } found && found.Checkpoint == Path.GetFileName(checkpoint) ? found
                : throw new LetheException($"{checkpoint} has no forget request ({ForgetRequest.FileName}) beside it: the report needs the request it answered");
            var reference = TrainingRun.Open(parse.GetValue(retrained)!, data: run.Data);
            var folder = parse.GetValue(outFolder) ?? Path.Combine(requestFolder, "report");
            var result = RequestReport.Measure(run, split, request, checkpoint, reference, audit, device, stage => console.MarkupLineInterpolated($"[grey]{stage}[/]"));
            Folders.Create(folder);
            LetheJson.WriteFile(Path.Combine(folder, RequestReport.SettingsFile), new
            {
                run = Path.GetFullPath(run.Folder),
                unlearned = Path.GetFullPath(checkpoint),
                request = Path.Combine(requestFolder, ForgetRequest.FileName),
                retrained = Path.GetFullPath(reference.Folder),
                audit,
                request.Settings,
            });
            foreach (var a in new[] { result.Before, result.After, result.Retrained }) Audit.Write(a.Report, Path.Combine(folder, "audits"), a.Report.Model);
            var files = DemoReport.Write(result, folder);
            DemoCommand.Show(console, result);
            console.MarkupLineInterpolated($"Report: {Path.GetFullPath(files.Markdown)} and {Path.GetFullPath(files.Html)}.");
            return LetheCli.Ok;
        });
        return command;
    }
}
