namespace Lethe.Storage;

/// <summary>Output folders: created with their parents, or a one-line error saying why one cannot be.</summary>
public static class Folders
{
    /// <summary>Creates <paramref name="folder"/> and its parents; a file in the way or a folder without write permission is a <see cref="LetheException"/>.</summary>
    public static void Create(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (IOException) when (FileInTheWay(folder) is { } file)
        {
            throw new LetheException($"cannot create the folder {folder}: {file} is a file, not a folder");
        }
        catch (UnauthorizedAccessException)
        {
            throw new LetheException($"cannot create the folder {folder}: permission denied");
        }
    }

    /// <summary>The folder itself or the nearest of its parents that exists as a file, or null.</summary>
    static string? FileInTheWay(string folder)
    {
        for (var path = Path.GetFullPath(folder); !string.IsNullOrEmpty(path); path = Path.GetDirectoryName(path))
        {
            if (File.Exists(path)) return path;
        }
        return null;
    }
}
