using System.Diagnostics;
using System.Text;

namespace Lethe.Tests;

/// <summary>The build's GLIBCXX fix (build/LibTorchSharpFix.targets) touches the output copy only, and only where needed.</summary>
public class LibTorchSharpFixTests
{
    const string Version = "GLIBCXX_3.4.32";

    static string? SystemLibstdcxx() =>
        new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib" }
            .Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);

    static string? FlagsOf(string library)
    {
        var start = new ProcessStartInfo("readelf", ["-V", library]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.Contains("Name: " + Version, StringComparison.Ordinal));
        return line?.Split("Flags:")[1].Trim().Split(' ')[0];
    }

    [SkippableFact]
    public void OutputCopyIsWeakenedWhereTheSystemLacksTheVersionAndThePackageCacheIsNot()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "Linux only");
        var system = SystemLibstdcxx();
        Skip.If(system is null, "no system libstdc++ found");
        Skip.If(!File.Exists("/usr/bin/readelf"), "readelf (binutils) is not installed");
        var output = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        Assert.True(File.Exists(output), $"{output} is missing");

        var systemHasVersion = Encoding.ASCII.GetString(File.ReadAllBytes(system!)).Contains("\0" + Version + "\0", StringComparison.Ordinal);
        Assert.Equal(systemHasVersion ? "none" : "WEAK", FlagsOf(output));

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var version = typeof(TorchSharp.torch).Assembly.GetName().Version!.ToString(3);
        var cached = Path.Combine(packages, "torchsharp", version, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(cached), $"{cached} is missing");
        Assert.Equal("none", FlagsOf(cached));
    }
}
