using System.Security.Cryptography;
using System.Text;

namespace Lethe.Requests;

/// <summary>
/// The store's secret salt (store.key, mode 0600). Sample ids are recorded only as HMAC-SHA256(salt, id): the ledger and
/// the certificates can say that a sample was forgotten, and by which request, without naming it. Whoever holds the key
/// can test whether a given id was forgotten; without it, the hashes reveal nothing (docs/deletion-ledger.md).
/// </summary>
public sealed class StoreKey
{
    public const string FileName = "store.key";
    const string Header = "lethe-store-key v1 ";

    readonly byte[] salt;

    StoreKey(byte[] salt) => this.salt = salt;

    /// <summary>Creates a fresh key file, readable and writable by its owner only.</summary>
    public static StoreKey Create(string path)
    {
        var salt = RandomNumberGenerator.GetBytes(32);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(path, options))
        {
            stream.Write(Encoding.ASCII.GetBytes(Header + Convert.ToHexStringLower(salt) + "\n"));
            stream.Flush(flushToDisk: true);
        }
        return new StoreKey(salt);
    }

    public static StoreKey Read(string path)
    {
        if (!File.Exists(path)) throw new LetheException($"{path} is missing: the store's key, without which its hashes cannot be checked");
        var text = File.ReadAllText(path).Trim();
        byte[]? salt = null;
        if (text.StartsWith(Header, StringComparison.Ordinal) && text.Length == Header.Length + 64)
        {
            try { salt = Convert.FromHexString(text[Header.Length..]); }
            catch (FormatException) { }
        }
        return salt is null ? throw new DataFormatException(path, "is damaged: not a Lethe store key") : new StoreKey(salt);
    }

    /// <summary>The salted hash of one sample id (hex).</summary>
    public string Hash(string sampleId) => Convert.ToHexStringLower(HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(sampleId)));
}
