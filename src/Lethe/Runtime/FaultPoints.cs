using System.Diagnostics;

namespace Lethe.Runtime;

/// <summary>
/// Named places where the tests of crash safety kill the process, as `kill -9` would, with no cleanup of any kind.
/// LETHE_FAULT=NAME kills at the first time NAME is reached, LETHE_FAULT=NAME:N at the N-th; without the variable, or
/// with another name, <see cref="Reach"/> does nothing. The variable has no other effect.
/// </summary>
public static class FaultPoints
{
    public const string Variable = "LETHE_FAULT";

    static readonly (string Name, int Hit)? Armed = Parse(Environment.GetEnvironmentVariable(Variable));
    static int reached;

    static (string, int)? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        // Names hold colons themselves (process:committed); a number after the last one is the hit count.
        var colon = value.LastIndexOf(':');
        return colon > 0 && int.TryParse(value[(colon + 1)..], out var n) && n > 0 ? (value[..colon], n) : (value, 1);
    }

    public static void Reach(string name)
    {
        if (Armed is not { } armed || armed.Name != name || Interlocked.Increment(ref reached) != armed.Hit) return;
        Console.Error.WriteLine($"lethe: fault point {name} reached ({Variable}): killing the process");
        Process.GetCurrentProcess().Kill();
        Thread.Sleep(Timeout.Infinite);
    }
}
