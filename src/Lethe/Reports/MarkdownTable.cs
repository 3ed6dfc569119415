using System.Globalization;
using System.Text;

namespace Lethe.Reports;

/// <summary>A GitHub-flavoured Markdown table; columns whose cells all start with a number are right-aligned.</summary>
public sealed class MarkdownTable(params string[] headers)
{
    readonly List<string[]> rows = [];

    public MarkdownTable Add(params string[] cells)
    {
        if (cells.Length != headers.Length) throw new ArgumentException($"a row of {cells.Length} cells in a table of {headers.Length} columns");
        rows.Add(cells);
        return this;
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", headers.Select(Escape)).Append(" |\n");
        text.Append('|').AppendJoin('|', headers.Select((_, i) => Numeric(i) ? " ---: " : " --- ")).Append("|\n");
        foreach (var row in rows) text.Append("| ").AppendJoin(" | ", row.Select(Escape)).Append(" |\n");
        return text.ToString();
    }

    // A lone "–" (not measured) does not stop a column of numbers from being one.
    bool Numeric(int column) => rows.Count > 0 && rows.Any(r => r[column] != "–") && rows.All(r => r[column] == "–" || IsNumber(r[column]));

    static bool IsNumber(string cell) =>
        cell.Length > 0 && (char.IsAsciiDigit(cell[0]) || (cell[0] is '-' or '+' && cell.Length > 1 && char.IsAsciiDigit(cell[1])) || cell == "NaN");

    static string Escape(string cell) => cell.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    /// <summary>A fraction as a percentage with one decimal, e.g. 68.4%.</summary>
    public static string Percent(double value) => (value * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";

    public static string Number(double value, int decimals = 3) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);
}
