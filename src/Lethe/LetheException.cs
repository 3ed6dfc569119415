namespace Lethe;

/// <summary>
/// An error caused by the user's input or environment (a missing or corrupt file, a bad setting).
/// Its message is one line meant for the user; the command-line program prints it without a stack trace.
/// </summary>
public class LetheException : Exception
{
    public LetheException(string message) : base(message) { }

    public LetheException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A data file that is missing, truncated or not in the format its reader expects.</summary>
public sealed class DataFormatException : LetheException
{
    public DataFormatException(string path, string problem)
        : base($"{path}: {problem}") => FilePath = path;

    public string FilePath { get; }
}
