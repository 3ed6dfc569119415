using System.Diagnostics;
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

    /// <summary>A running child process of the command line (the built Lethe.Cli.dll), with extra environment variables.</summary>
    public sealed class Child : IDisposable
    {
        readonly Process process;
        readonly Task<string> output;
        readonly Task<string> error;

        public Child(string[] args, IReadOnlyDictionary<string, string>? environment = null)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Lethe.Cli.dll"));
            foreach (var arg in args) start.ArgumentList.Add(arg);
            foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
            process = Process.Start(start)!;
            output = process.StandardOutput.ReadToEndAsync();
            error = process.StandardError.ReadToEndAsync();
        }

        /// <summary>Waits for the process (killed after <paramref name="timeout"/>); its exit code and both streams.</summary>
        public (int Code, string Out, string Err) Wait(TimeSpan timeout)
        {
            if (!process.WaitForExit(timeout)) process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (process.ExitCode, output.Result, error.Result);
        }

        public void Dispose() => process.Dispose();
    }

    /// <summary>Runs the command line in a child process to its end.</summary>
    public static (int Code, string Out, string Err) RunChild(string[] args, IReadOnlyDictionary<string, string>? environment = null, int minutes = 3)
    {
        using var child = new Child(args, environment);
        return child.Wait(TimeSpan.FromMinutes(minutes));
    }
}
