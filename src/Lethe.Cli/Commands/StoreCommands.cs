using System.CommandLine;
using System.Globalization;
using Lethe.Requests;
using Lethe.Runtime;
using Lethe.Storage;
using Lethe.Training;
using Spectre.Console;

namespace Lethe.Cli.Commands;

/// <summary>
/// `lethe store` and `lethe requests`: a model store with a ledger of deletion requests, a certificate per request,
/// continual deletion on the newest version, and a chain of hashes that `requests verify` checks (docs/deletion-ledger.md).
/// </summary>
public static class StoreCommands
{
    static Option<string> StoreOption() => new("--store", "-s") { Description = "The store's folder", Required = true };

    static Option<double> WaitOption() => new("--wait")
    {
        Description = "Seconds to wait for another lethe process working on the store (default 0: fail at once with \"store is busy\")",
        DefaultValueFactory = _ => 0,
    };

    public static Command Store(IAnsiConsole console)
    {
        var command = new Command("store", "A model store: model versions and the ledger of the deletion requests that made them");
        command.Subcommands.Add(Init(console));
        command.Subcommands.Add(Policy(console));
        return command;
    }

    static Command Init(IAnsiConsole console)
    {
        var store = StoreOption();
        var from = new Option<string?>("--from") { Description = "A finished training run folder (lethe pretrain, train or import) whose final model becomes version 0" };
        var import = new ImportCommand.ImportOptions(new Option<string>("--import") { Description = "Instead of --from: a PyTorch state dict to import as version 0 (with the options of lethe import). " + ImportCommand.WeightsHelp });
        var policy = new Option<string?>("--policy") { Description = "Policy JSON (lethe store policy prints the default): the unlearning method and settings, the audit, the thresholds" };
        var method = new Option<string?>("--unlearning") { Description = "Without --policy: the unlearning method of the default policy (default targeted)" };
        var command = new Command("init", "Make a store from a trained model: version 0, a policy, a key for the sample hashes and an empty ledger") { store, from, policy, method };
        foreach (var option in import.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            var root = Path.GetFullPath(parse.GetValue(store)!);
            var weights = parse.GetValue(import.Weights);
            var runFolder = (parse.GetValue(from), weights) switch
            {
                ({ } f, null) => f,
                (null, { }) => null,
                (null, null) => throw new LetheException("give --from RUN or --import WEIGHTS"),
                _ => throw new LetheException("give --from or --import, not both"),
            };
            // Before an import is done for nothing.
            ModelStore.CheckNewStore(root);
            var imported = runFolder is null ? Path.Combine(Path.GetDirectoryName(root) ?? ".", $".{Path.GetFileName(root)}.import-{Guid.NewGuid():N}.tmp") : null;
            try
            {
                if (imported is not null) import.Import(parse, imported, console, device);
                var run = TrainingRun.Open(runFolder ?? imported!, parse.GetValue(import.DataDir));
                var classifier = !run.Settings.IsEncoder;
                var chosen = parse.GetValue(policy) is { } file
                    ? (parse.GetValue(method) is null ? StorePolicy.Read(file, classifier) : throw new LetheException("give --policy or --unlearning, not both"))
                    : StorePolicy.Default(parse.GetValue(method) ?? "targeted", classifier);
                var source = weights is null ? Path.GetFullPath(run.Folder) : $"{Path.GetFullPath(weights)} (imported, SHA-256 {Checkpoint.FileSha256(weights)})";
                ModelStore.Init(root, run, parse.GetValue(import.DataDir), chosen, device, source, m => console.MarkupLineInterpolated($"[grey]{m}[/]"));
            }
            finally
            {
                if (imported is not null && Directory.Exists(imported)) Directory.Delete(imported, recursive: true);
            }
            using var opened = ModelStore.Open(root);
            var first = opened.Ledger.Versions()[0];
            console.MarkupLineInterpolated($"Made the store {root}: version 0 is {first.File} ({opened.BaseSettings.Method}, {opened.Base.Split.Members.Length} members), policy {opened.Policy.Unlearning.Method} with forget AUC at most {opened.Policy.Thresholds.MaxForgetAuc} and utility drop at most {opened.Policy.Thresholds.MaxUtilityDrop}.");
            console.MarkupLineInterpolated($"Keep {StoreKey.FileName} private: it salts the sample hashes. Next: lethe requests add --store {root} --forget-list FILE");
            return LetheCli.Ok;
        });
        return command;
    }

    static Command Policy(IAnsiConsole console)
    {
        var method = new Option<string>("--unlearning") { Description = "The unlearning method", DefaultValueFactory = _ => "targeted" };
        var classifier = new Option<bool>("--classifier") { Description = "The default for a classifier store rather than an encoder's" };
        var command = new Command("policy", "Print the default policy JSON, to edit and pass to lethe store init --policy") { method, classifier };
        command.SetAction(parse =>
        {
            var policy = StorePolicy.Default(parse.GetValue(method)!, parse.GetValue(classifier));
            policy.Validate("the default policy", parse.GetValue(classifier));
            console.Profile.Out.Writer.WriteLine(LetheJson.Serialize(policy));
            return LetheCli.Ok;
        });
        return command;
    }

    public static Command Requests(IAnsiConsole console)
    {
        var command = new Command("requests", "Deletion requests: add them, process them in order, list, show and verify the record");
        command.Subcommands.Add(Add(console));
        command.Subcommands.Add(Process(console));
        command.Subcommands.Add(List(console));
        command.Subcommands.Add(Show(console));
        command.Subcommands.Add(Verify(console));
        return command;
    }

    static ModelStore OpenStore(ParseResult parse, Option<string> store, Option<double> wait, Option<string?>? dataDir = null)
    {
        var seconds = parse.GetValue(wait);
        if (!(seconds >= 0)) throw new LetheException($"--wait must be at least 0 seconds, not {seconds}");
        return ModelStore.Open(parse.GetValue(store)!, dataDir is null ? null : parse.GetValue(dataDir), TimeSpan.FromSeconds(seconds));
    }

    static Command Add(IAnsiConsole console)
    {
        var store = StoreOption();
        var wait = WaitOption();
        var dataDir = CommonOptions.DataDir();
        var list = new Option<string>("--forget-list") { Description = "File naming the samples to forget, one per line (as lethe data info --ids lists them)", Required = true };
        var reference = new Option<string?>("--reference") { Description = "Your reference for the request (a ticket number, say); it is kept in the ledger and the certificate, so no personal data" };
        var command = new Command("add", "Record a deletion request; it is processed by lethe requests process") { store, wait, dataDir, list, reference };
        command.SetAction(parse =>
        {
            using var opened = OpenStore(parse, store, wait, dataDir);
            foreach (var line in opened.Recover()) console.MarkupLineInterpolated($"[yellow]{line}[/]");
            var row = opened.AddRequest(parse.GetValue(list)!, parse.GetValue(reference));
            console.Profile.Out.Writer.WriteLine(row.Id.ToString(CultureInfo.InvariantCulture));
            console.MarkupLineInterpolated($"[grey]request {row.Id} recorded: {row.Samples} samples; its list is kept in {ModelStore.PendingFile(row.Id)} until lethe requests process answers it[/]");
            return LetheCli.Ok;
        });
        return command;
    }

    static Command Process(IAnsiConsole console)
    {
        var store = StoreOption();
        var wait = WaitOption();
        var dataDir = CommonOptions.DataDir();
        var strict = new Option<bool>("--strict") { Description = "Exit with code 2 when a processed request does not meet the policy's thresholds (a request that could not be answered always gives 1)" };
        var command = new Command("process", "Answer every pending request in order on the newest model version: unlearn, audit, write the version and its certificate") { store, wait, dataDir, strict };
        command.SetAction(parse =>
        {
            var device = TorchRuntime.Initialize(CommonOptions.Runtime(parse));
            using var opened = OpenStore(parse, store, wait, dataDir);
            foreach (var line in opened.Recover()) console.MarkupLineInterpolated($"[yellow]{line}[/]");
            var pending = opened.Pending();
            if (pending.Count == 0)
            {
                console.MarkupLine("No pending requests.");
                return LetheCli.Ok;
            }
            console.MarkupLineInterpolated($"{pending.Count} pending request(s); policy: {opened.Policy.Unlearning.Method}, lr {opened.Policy.Unlearning.LearningRate}, at most {opened.Policy.Unlearning.Epochs} epochs");
            using var cancel = new GracefulStop(console, "Stopping: the request under way is discarded and stays pending");
            var summary = opened.Process(device,
                m => console.MarkupLineInterpolated($"{m}"),
                e => console.MarkupLineInterpolated($"[grey]  epoch {e.Epoch}: loss {e.Total:F4}, forget {e.Forget:F4}, anchor {e.Anchor:F4}{(e.Active is { } a ? $", {a} standing out" : "")}, {e.Seconds:F1} s[/]"),
                cancel.Token);
            foreach (var c in summary.Processed)
            {
                var figures = c.Audit is { } a
                    ? string.Create(CultureInfo.InvariantCulture, $"forget AUC {a.Attacks[0].ForgetAuc:F3} [{a.Attacks[0].ForgetLow:F3}, {a.Attacks[0].ForgetHigh:F3}], {a.Utility[0].Measure} {a.Utility[0].Value:P1}; ")
                    : "";
                var colour = c.MeetsPolicy ? "green" : "red";
                console.MarkupLine($"request {c.Request}: version {c.NewVersion?.Id ?? c.ParentVersion.Id}; {Markup.Escape(figures)}[{colour}]{Markup.Escape(c.Verdict)}[/] ({ModelStore.CertificateFile(c.Request, "md")})");
            }
            if (summary.Stopped)
            {
                console.MarkupLineInterpolated($"[yellow]stopped: {summary.StillPending} request(s) still pending[/]");
                return 130;
            }
            // A request the store could not answer is an error; one answered short of the policy is one under --strict.
            if (summary.Processed.Any(c => c.Refused is not null)) return LetheCli.UserError;
            return parse.GetValue(strict) && summary.Processed.Any(c => !c.MeetsPolicy) ? 2 : LetheCli.Ok;
        });
        return command;
    }

    static Command List(IAnsiConsole console)
    {
        var store = StoreOption();
        var wait = WaitOption();
        var json = new Option<bool>("--json") { Description = "Print the ledger's requests, outcomes and versions as JSON" };
        var command = new Command("list", "The requests and model versions of a store") { store, wait, json };
        command.SetAction(parse =>
        {
            using var opened = OpenStore(parse, store, wait);
            if (parse.GetValue(json))
            {
                console.Profile.Out.Writer.WriteLine(LetheJson.Serialize(new { Requests = opened.Ledger.Requests(), Outcomes = opened.Ledger.Outcomes(), Versions = opened.Ledger.Versions() }));
                return LetheCli.Ok;
            }
            var outcomes = opened.Ledger.Outcomes().ToDictionary(o => o.Request);
            var requests = new Table().Title("requests").AddColumns("id", "received", "reference", "samples", "state", "forgotten", "already forgotten", "version", "verdict");
            foreach (var r in opened.Ledger.Requests())
            {
                var o = outcomes.GetValueOrDefault(r.Id);
                requests.AddRow(
                    r.Id.ToString(CultureInfo.InvariantCulture), r.Received.ToString("u", CultureInfo.InvariantCulture), Markup.Escape(r.Reference ?? ""),
                    r.Samples.ToString(CultureInfo.InvariantCulture), o is null ? "pending" : "processed",
                    o?.Forgotten.ToString(CultureInfo.InvariantCulture) ?? "", o?.AlreadyForgotten.ToString(CultureInfo.InvariantCulture) ?? "",
                    o is null ? "" : (o.NewVersion ?? o.ParentVersion).ToString(CultureInfo.InvariantCulture),
                    o is null ? "" : o.Refused is not null ? "[red]not answered[/]" : o.NewVersion is null ? "nothing to forget" : o.MeetsPolicy ? "meets the policy" : "[red]does not meet the policy[/]");
            }
            console.Write(requests);
            var versions = new Table().Title("model versions").AddColumns("version", "parent", "request", "file", "weights SHA-256 (start)", "utility");
            foreach (var v in opened.Ledger.Versions())
            {
                var utility = System.Text.Json.JsonSerializer.Deserialize<UtilityValue[]>(v.Utility, LetheJson.Compact) ?? [];
                versions.AddRow(v.Id.ToString(CultureInfo.InvariantCulture), v.Parent?.ToString(CultureInfo.InvariantCulture) ?? "", v.Request?.ToString(CultureInfo.InvariantCulture) ?? "",
                    v.File, v.ModelSha256[..16], Markup.Escape(string.Join(", ", utility.Select(u => $"{u.Measure} {u.Value:P1}"))));
            }
            console.Write(versions);
            return LetheCli.Ok;
        });
        return command;
    }

    static Command Show(IAnsiConsole console)
    {
        var store = StoreOption();
        var wait = WaitOption();
        var id = new Argument<long>("ID") { Description = "The request's id" };
        var command = new Command("show", "A request: its certificate's page when processed, else what is pending") { id, store, wait };
        command.SetAction(parse =>
        {
            using var opened = OpenStore(parse, store, wait);
            var request = opened.Ledger.Requests().FirstOrDefault(r => r.Id == parse.GetValue(id))
                ?? throw new LetheException($"no request {parse.GetValue(id)} in {opened.Root} (lethe requests list)");
            var outcome = opened.Ledger.Outcomes().FirstOrDefault(o => o.Request == request.Id);
            if (outcome is null)
            {
                console.MarkupLineInterpolated($"request {request.Id}: pending since {request.Received:u}, {request.Samples} samples{(request.Reference is { } r ? $", reference {r}" : "")}");
                return LetheCli.Ok;
            }
            var path = opened.File(ModelStore.CertificateFile(request.Id, "md"));
            if (!File.Exists(path)) throw new LetheException($"{ModelStore.CertificateFile(request.Id, "md")} is missing (lethe requests verify)");
            console.Profile.Out.Writer.Write(File.ReadAllText(path));
            console.MarkupLineInterpolated($"[grey]{opened.File(ModelStore.CertificateFile(request.Id, "json"))}, .md, .html[/]");
            return LetheCli.Ok;
        });
        return command;
    }

    static Command Verify(IAnsiConsole console)
    {
        var store = StoreOption();
        var wait = WaitOption();
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("verify", "Re-hash every version, certificate and record of a store and check the chain; exit code 1 on any difference") { store, wait, json };
        command.SetAction(parse =>
        {
            using var opened = OpenStore(parse, store, wait);
            var result = StoreVerifier.Verify(opened);
            if (parse.GetValue(json)) console.Profile.Out.Writer.WriteLine(StoreVerifier.Json(result));
            else
            {
                foreach (var note in result.Notes) console.MarkupLineInterpolated($"[yellow]note: {note}[/]");
                if (result.Problems.Count == 0)
                    console.MarkupLineInterpolated($"[green]verified[/]: {result.Versions} versions, {result.Certificates} certificates, {result.Pending} pending; every hash and link holds");
            }
            if (result.Problems.Count == 0) return LetheCli.Ok;
            throw new LetheException(string.Join("; ", result.Problems));
        });
        return command;
    }
}
