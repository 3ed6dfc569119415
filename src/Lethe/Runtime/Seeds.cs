using System.Security.Cryptography;
using System.Text;

namespace Lethe.Runtime;

/// <summary>
/// Derives independent seeds for each purpose (data split, initialisation, augmentation, ...)
/// from the one seed a run is given, so that adding a new use of randomness never shifts the others.
/// </summary>
public static class Seeds
{
    public static int Derive(long seed, string purpose)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"lethe:{seed}:{purpose}"));
        return BitConverter.ToInt32(hash, 0) & int.MaxValue;
    }

    public static Random Random(long seed, string purpose) => new(Derive(seed, purpose));

    static readonly Lock GlobalGenerator = new();

    /// <summary>
    /// Runs <paramref name="work"/>, which draws from libtorch's process-wide generator (module initialisation draws
    /// from it and cannot be given another), seeded with <paramref name="seed"/> when one is given. Lethe's every use
    /// of that generator goes through here, so that seeded models come out the same while other threads build theirs.
    /// </summary>
    public static T WithGlobalGenerator<T>(int? seed, Func<T> work)
    {
        lock (GlobalGenerator)
        {
            if (seed is { } s) TorchSharp.torch.manual_seed(s);
            return work();
        }
    }
}
