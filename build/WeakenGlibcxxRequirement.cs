// MSBuild task (compiled by RoslynCodeTaskFactory) that lets TorchSharp's native
// glue load on Linux systems whose libstdc++ predates the GLIBCXX version it was
// linked against. It marks the named version requirements of an ELF shared object
// as weak (VER_FLG_WEAK) so that the dynamic loader no longer refuses the file.
// Only versions that the system libstdc++ lacks are touched (all listed ones with
// Force, for files packed to run elsewhere); see
// docs/torchsharp-on-debian.md for why this is safe for GLIBCXX_3.4.32.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenGlibcxxRequirement : Task
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    /// <summary>Shared objects to patch (copies in an output folder, never the NuGet cache).</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Version names that may be weakened, separated by semicolons.</summary>
    [Required]
    public string Versions { get; set; } = "";

    /// <summary>The system libstdc++ consulted; empty means search the usual places.</summary>
    public string SystemLibrary { get; set; } = "";

    /// <summary>Weaken every listed version without consulting the system libstdc++: for files that
    /// will run on other machines (the tool package), not on the one building them.</summary>
    public bool Force { get; set; }

    public override bool Execute()
    {
        var versions = Versions.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries).Select(v => v.Trim());
        HashSet<string> missing;
        string reason;
        if (Force)
        {
            missing = new HashSet<string>(versions);
            reason = "forced for other systems";
        }
        else
        {
            var libstdcxx = FindSystemLibstdcxx();
            if (libstdcxx == null)
            {
                Log.LogMessage(MessageImportance.Low, "No system libstdc++.so.6 found; nothing to weaken.");
                return true;
            }
            var systemBytes = File.ReadAllBytes(libstdcxx);
            missing = new HashSet<string>(versions.Where(v => IndexOf(systemBytes, Encoding.ASCII.GetBytes("\0" + v + "\0")) < 0));
            if (missing.Count == 0)
            {
                Log.LogMessage(MessageImportance.Low, $"{libstdcxx} provides {Versions}; no patch needed.");
                return true;
            }
            reason = "system libstdc++ is older";
        }
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            if (!File.Exists(path)) continue;
            try
            {
                var bytes = File.ReadAllBytes(path);
                var changed = Weaken(bytes, missing);
                if (changed.Count == 0) continue;
                // Write beside and rename: never modify a file that may be hard-linked to a package cache.
                var temp = path + ".weak-tmp";
                File.WriteAllBytes(temp, bytes);
                File.Delete(path);
                File.Move(temp, path);
                Log.LogMessage(MessageImportance.High,
                    $"LibTorchSharp fix: marked {string.Join(", ", changed)} weak in {path} ({reason}).");
            }
            catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException
                || e is ArgumentException || e is IndexOutOfRangeException)
            {
                Log.LogError($"Cannot patch {path}: {e.Message} (not a well-formed 64-bit ELF shared object?)");
            }
        }
        return !Log.HasLoggedErrors;
    }

    string FindSystemLibstdcxx()
    {
        if (!string.IsNullOrEmpty(SystemLibrary)) return File.Exists(SystemLibrary) ? SystemLibrary : null;
        string[] dirs =
        {
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib",
        };
        return dirs.Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);
    }

    /// <summary>Sets VER_FLG_WEAK on each vernaux entry named in <paramref name="names"/>; returns those changed.</summary>
    public static List<string> Weaken(byte[] elf, ISet<string> names)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");
        var shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        var changed = new List<string>();
        for (var i = 0; i < shnum; i++)
        {
            var sh = shoff + (long)i * shentsize;
            if (sh + 64 > elf.Length) throw new InvalidDataException("section header table is truncated");
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
            var offset = (long)BitConverter.ToUInt64(elf, (int)sh + 0x18);
            var link = BitConverter.ToUInt32(elf, (int)sh + 0x28);
            var strtab = (long)BitConverter.ToUInt64(elf, (int)(shoff + link * shentsize) + 0x18);
            var vn = offset;
            while (true)
            {
                int count = BitConverter.ToUInt16(elf, (int)vn + 2);
                var aux = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                for (var k = 0; k < count; k++)
                {
                    var name = ReadCString(elf, strtab + BitConverter.ToUInt32(elf, (int)aux + 8));
                    var flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                    if (names.Contains(name) && (flags & VerFlgWeak) == 0)
                    {
                        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, (int)aux + 4);
                        changed.Add(name);
                    }
                    var nextAux = BitConverter.ToUInt32(elf, (int)aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                var next = BitConverter.ToUInt32(elf, (int)vn + 12);
                if (next == 0) break;
                vn += next;
            }
        }
        return changed;
    }

    static string ReadCString(byte[] bytes, long start)
    {
        var end = start;
        while (end < bytes.Length && bytes[end] != 0) end++;
        return Encoding.ASCII.GetString(bytes, (int)start, (int)(end - start));
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Length; i++)
        {
            var j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}
