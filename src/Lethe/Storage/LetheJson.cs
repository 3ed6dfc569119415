using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Lethe.Storage;

/// <summary>The JSON conventions of every file Lethe writes: camelCase, indented, enums as strings.</summary>
public static class LetheJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower), new CompactIntArrayConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The same conventions on one line, for JSON-lines files.</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    /// <summary>The same conventions, refusing null for a property that is not nullable: for settings that people write.</summary>
    public static readonly JsonSerializerOptions Strict = new(Options) { RespectNullableAnnotations = true };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>
    /// Settings from a parsed JSON object, with <see cref="Strict"/>: a value of the wrong type, or a null where a setting
    /// needs one, is a one-line error naming the setting rather than a failure later on.
    /// </summary>
    public static T DeserializeSettings<T>(JsonNode node, string path)
    {
        try
        {
            return node.Deserialize<T>(Strict) ?? throw new DataFormatException(path, "holds no settings");
        }
        catch (JsonException e)
        {
            var setting = e.Path is { } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : e.Path ?? "?";
            throw new DataFormatException(path, $"setting '{setting}' has the wrong type or is null");
        }
    }

    public static void WriteFile<T>(string path, T value) => AtomicFile.WriteAllText(path, Serialize(value) + "\n");

    /// <summary>Reads a JSON file, turning a missing or malformed file into a one-line error.</summary>
    public static T ReadFile<T>(string path, string what)
    {
        if (!File.Exists(path)) throw new LetheException($"{what} not found: {path}");
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options)
                ?? throw new DataFormatException(path, $"{what} is empty");
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, $"{what} is not valid JSON ({e.Message.Split('\n')[0]})");
        }
    }
}

/// <summary>Writes int arrays (sample ids) on one line, so that a manifest of thousands of ids stays small and readable.</summary>
public sealed class CompactIntArrayConverter : JsonConverter<int[]>
{
    public override int[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("expected an array of integers");
        var values = new List<int>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var value))
                throw new JsonException("expected an array of integers");
            values.Add(value);
        }
        return [.. values];
    }

    public override void Write(Utf8JsonWriter writer, int[] value, JsonSerializerOptions options) =>
        writer.WriteRawValue("[" + string.Join(",", value) + "]", skipInputValidation: true);
}
