using System.CommandLine;
using System.CommandLine.Help;
using Lethe.Cli.Commands;
using Spectre.Console;

namespace Lethe.Cli;

/// <summary>The `lethe` command: builds the command tree and turns errors into one-line messages and exit codes.</summary>
public static class LetheCli
{
    public const int Ok = 0;
    public const int UserError = 1;
    public const int InternalError = 70;

    public static Command Build(IAnsiConsole console)
    {
        // A plain command named "lethe" rather than RootCommand, whose name is the assembly's (Lethe.Cli).
        var root = new Command("lethe",
            "Lethe: machine unlearning for contrastive encoders and supervised classifiers, " +
            "with membership-inference audits that show whether a model forgot.")
        {
            new HelpOption(),
            new VersionOption(),
        };
        root.Options.Add(CommonOptions.Device);
        root.Options.Add(CommonOptions.Threads);
        root.Subcommands.Add(DataCommands.Build(console));
        root.Subcommands.Add(TrainCommand.Pretrain(console));
        root.Subcommands.Add(TrainCommand.Train(console));
        root.Subcommands.Add(UnlearnCommand.Build(console));
        root.Subcommands.Add(AuditCommand.Build(console));
        root.Subcommands.Add(ImportCommand.Build(console));
        root.Subcommands.Add(ExportCommand.Build(console));
        root.Subcommands.Add(ReportCommand.Build(console));
        root.Subcommands.Add(StoreCommands.Store(console));
        root.Subcommands.Add(StoreCommands.Requests(console));
        root.Subcommands.Add(DemoCommand.Build(console));
        root.Subcommands.Add(ReproduceCommand.Build(console));
        root.Subcommands.Add(TuneCommand.Build(console));
        root.Subcommands.Add(DoctorCommand.Build(console));
        return root;
    }

    /// <summary>Runs the command line; errors become one line on <paramref name="error"/> and a non-zero exit code.</summary>
    public static int Run(string[] args, IAnsiConsole console, TextWriter error)
    {
        var root = Build(console);
        var parse = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (parse.Errors.Count > 0)
        {
            // One line per problem, not the whole help text.
            var names = new List<string>();
            for (Command? c = parse.CommandResult.Command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault()) names.Insert(0, c.Name);
            var path = string.Join(" ", names);
            foreach (var problem in parse.Errors) error.WriteLine($"lethe: error: {problem.Message} (see `{path} --help`)");
            return UserError;
        }
        var configuration = new InvocationConfiguration
        {
            EnableDefaultExceptionHandler = false,
            Output = console.Profile.Out.Writer,
            Error = error,
        };
        try
        {
            return parse.Invoke(configuration);
        }
        catch (LetheException e)
        {
            error.WriteLine($"lethe: error: {e.Message}");
            return UserError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"lethe: error: {e.Message}");
            return UserError;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("LETHE_DEBUG") != "1")
        {
            error.WriteLine($"lethe: internal error: {e.GetType().Name}: {e.Message.Split('\n')[0]} (set LETHE_DEBUG=1 for the stack trace)");
            return InternalError;
        }
    }
}
