using Lethe.Storage;
using Markdig;

namespace Lethe.Reports;

/// <summary>The files a report was written to.</summary>
public sealed record ReportFiles(string Markdown, string Html, IReadOnlyList<string> Figures);

/// <summary>
/// Writes a report twice: Markdown with its figures beside it in figures/, and one self-contained HTML page with the
/// same content and the figures embedded as data URIs.
/// </summary>
public static class ReportWriter
{
    /// <param name="render">The report's Markdown, given how to link a figure by name.</param>
    public static ReportFiles Write(
        string folder, string markdownFile, string htmlFile, string title, IReadOnlyList<(string Name, string Caption, byte[] Png)> figures, Func<Func<string, string>, string> render)
    {
        var figureFolder = Path.Combine(folder, "figures");
        var paths = new List<string>();
        foreach (var (name, _, png) in figures)
        {
            var path = Path.Combine(figureFolder, name + ".png");
            AtomicFile.WriteAllBytes(path, png);
            paths.Add(path);
        }
        var markdown = render(name => $"figures/{name}.png");
        var inline = render(name => "data:image/png;base64," + Convert.ToBase64String(figures.First(f => f.Name == name).Png));
        var md = Path.Combine(folder, markdownFile);
        var html = Path.Combine(folder, htmlFile);
        AtomicFile.WriteAllText(md, markdown);
        AtomicFile.WriteAllText(html, Html(inline, title));
        return new ReportFiles(md, html, paths);
    }

    /// <summary>A self-contained HTML page of <paramref name="markdown"/>.</summary>
    /// <param name="allowHtml">false for Markdown that holds text from users (a request's reference): it is shown, never run.</param>
    public static string Html(string markdown, string title, bool allowHtml = true)
    {
        var builder = new MarkdownPipelineBuilder().UseAdvancedExtensions();
        if (!allowHtml) builder = builder.DisableHtml();
        var pipeline = builder.Build();
        var body = Markdown.ToHtml(markdown, pipeline);
        return $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>{{System.Net.WebUtility.HtmlEncode(title)}}</title>
            <style>
            body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; max-width: 1600px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
            table { border-collapse: collapse; margin: 1em 0; }
            th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; }
            th { background: #f3f3f3; }
            td { font-variant-numeric: tabular-nums; }
            img { max-width: 100%; }
            </style>
            </head>
            <body>
            {{body}}
            </body>
            </html>

            """;
    }
}
