using System.Globalization;

namespace Lethe.Experiments;

/// <summary>
/// Names one experiment cell: a model (<see cref="Model"/>: an encoder method or the classifier) of one seed and data
/// set, audited on a forget set of <see cref="Fraction"/> of its members, in one scenario: original, retrained,
/// sisa-before, sisa, or an unlearning method; <see cref="Variant"/> marks an ablation of that method (e.g. n1-g1-l0).
/// The cache's file layout and the report's figures both read it.
/// </summary>
public sealed record CellKey(long Seed, string Dataset, string Model, double Fraction, string Scenario, string? Variant = null)
{
    /// <summary>The cell's path under cells/ and audits/, e.g. seed-0/fashion-mnist/moco/forget-20pct/memgp.</summary>
    public string Path => $"seed-{Seed}/{Dataset}/{Model}/{ForgetFolder(Fraction)}/{Label}";

    /// <summary>The scenario with its variant, e.g. memgp or gp-n1-g1-l0.</summary>
    public string Label => Variant is null ? Scenario : $"{Scenario}-{Variant}";

    /// <summary>The part of a cell's path that names its forget share, e.g. forget-20pct.</summary>
    public static string ForgetFolder(double fraction) => $"forget-{Math.Round(fraction * 100, 1).ToString(CultureInfo.InvariantCulture)}pct";
}
