using Lethe.Cli;
using Spectre.Console;

return LetheCli.Run(args, AnsiConsole.Console, Console.Error);
