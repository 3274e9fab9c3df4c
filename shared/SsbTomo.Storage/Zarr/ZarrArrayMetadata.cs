using System.Text.Json;

namespace SsbTomo.Storage;

/// <summary>The parts of a Zarr v2 .zarray document that this library understands.</summary>
public sealed record ZarrArrayMetadata(
    int[] Shape,
    int[] Chunks,
    string DataType,
    ZarrCompressor Compressor,
    int CompressionLevel,
    double FillValue,
    string DimensionSeparator)
{
    public const string FileName = ".zarray";

    /// <summary>Serializes with sorted keys and fixed formatting so the same array always gives the same bytes.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            WriteIntArray(json, "chunks", Chunks);
            json.WritePropertyName("compressor");
            switch (Compressor)
            {
                case ZarrCompressor.None:
                    json.WriteNullValue();
                    break;
                case ZarrCompressor.Zstd or ZarrCompressor.ZstdFast or ZarrCompressor.Zlib:
                    json.WriteStartObject();
                    json.WriteString("id", Compressor == ZarrCompressor.Zlib ? "zlib" : "zstd");
                    json.WriteNumber("level", CompressionLevel);
                    json.WriteEndObject();
                    break;
                case ZarrCompressor.BloscZstd:
                    // numcodecs' Blosc keys, sorted; blocksize 0 is numcodecs' "automatic" (a reader takes it from each frame).
                    json.WriteStartObject();
                    json.WriteNumber("blocksize", 0);
                    json.WriteNumber("clevel", CompressionLevel);
                    json.WriteString("cname", "zstd");
                    json.WriteString("id", "blosc");
                    json.WriteNumber("shuffle", 1);
                    json.WriteEndObject();
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(Compressor), Compressor, null);
            }
            json.WriteString("dimension_separator", DimensionSeparator);
            json.WriteString("dtype", DataType);
            json.WritePropertyName("fill_value");
            if (double.IsNaN(FillValue)) json.WriteStringValue("NaN");
            else json.WriteNumberValue(FillValue);
            json.WriteNull("filters");
            json.WriteString("order", "C");
            WriteIntArray(json, "shape", Shape);
            json.WriteNumber("zarr_format", 2);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    public static ZarrArrayMetadata Parse(byte[] json, string arrayPath)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var format = root.GetProperty("zarr_format").GetInt32();
            if (format != 2)
                throw Invalid(arrayPath, $"zarr_format is {format}, only 2 is supported");
            var order = root.TryGetProperty("order", out var orderElement) ? orderElement.GetString() : "C";
            if (order != "C")
                throw Invalid(arrayPath, $"order is '{order}', only C order is supported");
            if (root.TryGetProperty("filters", out var filters) && filters.ValueKind != JsonValueKind.Null
                && !(filters.ValueKind == JsonValueKind.Array && filters.GetArrayLength() == 0))
                throw Invalid(arrayPath, $"has filters {filters.GetRawText()}, filters are not supported");

            var shape = root.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var chunks = root.GetProperty("chunks").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var dtype = root.GetProperty("dtype").GetString() ?? throw Invalid(arrayPath, "dtype is null");
            var (compressor, level) = ParseCompressor(root.GetProperty("compressor"), arrayPath);
            var fill = root.TryGetProperty("fill_value", out var fillElement) ? ParseFill(fillElement, arrayPath) : 0;
            var separator = root.TryGetProperty("dimension_separator", out var sep) && sep.ValueKind == JsonValueKind.String
                ? sep.GetString()! : ".";
            if (separator is not ("." or "/"))
                throw Invalid(arrayPath, $"dimension_separator '{separator}' is neither '.' nor '/'");
            return new ZarrArrayMetadata(shape, chunks, dtype, compressor, level, fill, separator);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Invalid(arrayPath, $"is not a valid Zarr v2 .zarray: {e.Message}");
        }
    }

    private static (ZarrCompressor, int) ParseCompressor(JsonElement element, string arrayPath)
    {
        if (element.ValueKind == JsonValueKind.Null)
            return (ZarrCompressor.None, 0);
        var id = element.GetProperty("id").GetString();
        if (id == "blosc")
        {
            // Each frame says how it was shuffled and blocked; only what is inside it must be zstd.
            var cname = element.TryGetProperty("cname", out var cnameElement) ? cnameElement.GetString() : null;
            if (cname != "zstd")
                throw Invalid(arrayPath, $"uses blosc with '{cname}' inside; only blosc with zstd is supported");
            var clevel = element.TryGetProperty("clevel", out var clevelElement) && clevelElement.ValueKind == JsonValueKind.Number ? clevelElement.GetInt32() : ZarrCodec.ZstdLevel;
            return (ZarrCompressor.BloscZstd, clevel);
        }
        // zstd's levels go below zero (its fast modes); a missing level is the codec's default.
        int? level = element.TryGetProperty("level", out var levelElement) && levelElement.ValueKind != JsonValueKind.Null ? levelElement.GetInt32() : null;
        return id switch
        {
            "zstd" when level == ZarrCodec.ZstdFastLevel => (ZarrCompressor.ZstdFast, ZarrCodec.ZstdFastLevel),
            "zstd" => (ZarrCompressor.Zstd, level ?? ZarrCodec.ZstdLevel),
            "zlib" => (ZarrCompressor.Zlib, level is >= 0 ? level.Value : ZarrCodec.ZlibLevel),
            _ => throw Invalid(arrayPath, $"uses compressor '{id}'; only zstd, blosc with zstd, zlib or none are supported"),
        };
    }

    private static double ParseFill(JsonElement element, string arrayPath) => element.ValueKind switch
    {
        JsonValueKind.Null => 0,
        JsonValueKind.Number => element.GetDouble(),
        JsonValueKind.String when element.GetString() == "NaN" => double.NaN,
        _ => throw Invalid(arrayPath, $"fill_value {element.GetRawText()} is not supported"),
    };

    private static void WriteIntArray(Utf8JsonWriter json, string name, int[] values)
    {
        json.WriteStartArray(name);
        foreach (var v in values) json.WriteNumberValue(v);
        json.WriteEndArray();
    }

    private static InvalidDataException Invalid(string arrayPath, string what) =>
        new($"Zarr array '{arrayPath}' {what}");

    public override string ToString() =>
        $"shape {string.Join('x', Shape)} chunks {string.Join('x', Chunks)} {DataType} {Compressor}";
}
