using Lethe.Reports;

namespace Lethe.Experiments;

/// <summary>
/// One cell of a result table: text, or one number per seed shown as the mean (± the half-width of its 95% confidence
/// interval when there are several; <see cref="MeanInterval"/>). Null values mean "not measured" (a linear probe that was switched off, say) and show as a dash.
/// </summary>
public sealed record TableValue(string? Label, double[]? Values, string Format)
{
    public static TableValue Text(string text) => new(text, null, "text");

    /// <param name="format">percent, number, signed (a difference), signed-percent, seconds or ratio.</param>
    public static TableValue Numbers(double[]? values, string format) => new(null, values, format);

    public double? Mean => Values is { Length: > 0 } v ? v.Average() : null;

    /// <summary>Half-width of the 95% confidence interval of the mean over seeds; null with fewer than two.</summary>
    public double? Ci95 => Values is { } v ? MeanInterval.HalfWidth(v) : null;

    public override string ToString()
    {
        if (Format == "text") return Label ?? "";
        if (Mean is not { } mean) return "–";
        if (double.IsNaN(mean)) return "NaN";
        var text = Show(mean);
        return Ci95 is { } spread ? $"{text} ± {Show(spread, spread: true)}" : text;
    }

    string Show(double value, bool spread = false) => Format switch
    {
        "percent" => MarkdownTable.Percent(value),
        "signed" => spread ? MarkdownTable.Number(value) : Signed(MarkdownTable.Number(value), value),
        "signed-percent" => spread ? MarkdownTable.Percent(value) : Signed(MarkdownTable.Percent(value), value),
        "seconds" => MarkdownTable.Number(value, 1),
        "ratio" => MarkdownTable.Number(value, 1) + "×",
        _ => MarkdownTable.Number(value),
    };

    static string Signed(string text, double value) => value > 0 ? "+" + text : text;
}

/// <summary>A table of `lethe reproduce`, written as Markdown and JSON.</summary>
public sealed class ResultTable(string id, string title, string caption, IReadOnlyList<string> columns)
{
    readonly List<TableValue[]> rows = [];

    public string Id => id;

    public string Title => title;

    public string Caption => caption;

    public IReadOnlyList<string> Columns => columns;

    public IReadOnlyList<TableValue[]> Rows => rows;

    public void Add(params TableValue[] row)
    {
        if (row.Length != columns.Count) throw new ArgumentException($"a row of {row.Length} cells in table {id} of {columns.Count} columns");
        rows.Add(row);
    }

    public string Markdown()
    {
        var table = new MarkdownTable([.. columns]);
        foreach (var row in rows) table.Add([.. row.Select(v => v.ToString())]);
        return table.ToString();
    }
}
