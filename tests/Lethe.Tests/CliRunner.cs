using Lethe.Cli;
using Spectre.Console;

namespace Lethe.Tests;

/// <summary>Runs the command line in-process with a plain, wide console, capturing both streams.</summary>
public static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 200;
        var code = LetheCli.Run(args, console, error);
        return (code, output.ToString(), error.ToString());
    }
}
