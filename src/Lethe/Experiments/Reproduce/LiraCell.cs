using System.Text.Json;
using Lethe.Audits;
using Lethe.Storage;

namespace Lethe.Experiments;

/// <summary>
/// One LiRA reference model's scores of the pool, cached in lira/ with the settings that determine them: the pool's
/// training-split ids, each sample's role and score, and the seconds its training, unlearning and scoring took.
/// </summary>
public sealed record LiraCell(
    string Signature, int[] Pool, PoolRole[] Roles, double[] Scores, double TrainingSeconds, double? UnlearningSeconds, double Seconds)
{
    /// <summary>The cell at <paramref name="path"/> if it was measured with these settings; null when missing, stale or damaged.</summary>
    public static LiraCell? Read(string path, string signature)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var cell = LetheJson.ReadFile<LiraCell>(path, "LiRA cell");
            return cell.Signature == signature && cell.Roles.Length == cell.Pool.Length && cell.Scores.Length == cell.Pool.Length ? cell : null;
        }
        catch (Exception e) when (e is LetheException or JsonException)
        {
            return null; // a damaged cell is measured again
        }
    }
}

/// <summary>LiRA's reference models of one model kind under one treatment, and the seconds they cost.</summary>
/// <param name="TrainingSeconds">Training steps of all the reference models (shared by every method).</param>
/// <param name="UnlearningSeconds">Unlearning steps summed over the reference models; null for the models as trained.</param>
public sealed record LiraReferences(IReadOnlyList<PoolScores> Models, double TrainingSeconds, double? UnlearningSeconds);
