using Spectre.Console;

namespace Lethe.Cli;

/// <summary>
/// Turns the first Ctrl-C into a request to stop after the current epoch's checkpoint (a second one aborts at once),
/// for as long as it lives.
/// </summary>
public sealed class GracefulStop : IDisposable
{
    readonly CancellationTokenSource source = new();
    readonly ConsoleCancelEventHandler handler;

    public GracefulStop(IAnsiConsole console, string message)
    {
        handler = (_, e) =>
        {
            if (source.IsCancellationRequested) return; // a second Ctrl-C stops at once
            e.Cancel = true;
            source.Cancel();
            console.MarkupLine($"[yellow]{Markup.Escape(message)} (Ctrl-C again to abort)...[/]");
        };
        Console.CancelKeyPress += handler;
    }

    public CancellationToken Token => source.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= handler;
        source.Dispose();
    }
}
