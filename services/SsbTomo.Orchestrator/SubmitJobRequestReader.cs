using System.Text.Json;
using SsbTomo.Contracts;

namespace SsbTomo.Orchestrator;

/// <summary>
/// Reads the body of <c>POST /api/jobs</c> field by field, so that every mistake comes back as the field's name and
/// what is wrong with it, rather than as a model binder's guess (a misspelt field used to arrive as an empty path).
/// </summary>
internal static class SubmitJobRequestReader
{
    public const int MaxBodyBytes = 64 * 1024;
    public const int MaxSourcePathChars = 4096;
    public const double MinVoxelNm = 0.1;
    public const double MaxVoxelNm = 100_000;

    private const string SourcePath = "sourcePath";
    private const string VoxelSize = "voxelSizeNm";
    private const string Carbon = "carbon";
    private const string RegistrationCrop = "registrationCropPx";
    private static readonly string[] Fields = [SourcePath, VoxelSize, Carbon, RegistrationCrop];
    private static readonly string[] Axes = ["x", "y", "z"];

    /// <summary>The request, or the errors keyed by field (a JSON path below the body, e.g. <c>voxelSizeNm.x</c>).</summary>
    public static (JobsApi.SubmitJobRequest? Request, Dictionary<string, string[]> Errors) Read(JsonElement body)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors["$"] = [$"must be a JSON object with {SourcePath} and optionally {VoxelSize}, {Carbon} and {RegistrationCrop}, not {Describe(body.ValueKind)}"];
            return (null, errors);
        }
        var fields = Collect(body, Fields, "", errors);

        string? sourcePath = null;
        if (!fields.TryGetValue(SourcePath, out var path))
            errors[SourcePath] = ["is required: the absolute path of the stack folder or TIFF file on the share drive"];
        else if (path.ValueKind != JsonValueKind.String)
            errors[SourcePath] = [$"must be a string, not {Describe(path.ValueKind)}"];
        else
        {
            sourcePath = path.GetString()!;
            if (string.IsNullOrWhiteSpace(sourcePath)) errors[SourcePath] = ["must not be empty"];
            else if (sourcePath.Length > MaxSourcePathChars) errors[SourcePath] = [$"must be at most {MaxSourcePathChars} characters long"];
            else if (sourcePath.Any(char.IsControl)) errors[SourcePath] = ["must not contain control characters"];
        }

        VoxelSizeNm? voxelSize = null;
        if (fields.TryGetValue(VoxelSize, out var voxel) && voxel.ValueKind != JsonValueKind.Null)
            voxelSize = ReadVoxelSize(voxel, errors);

        CarbonShape? carbon = null;
        if (fields.TryGetValue(Carbon, out var shape) && shape.ValueKind != JsonValueKind.Null)
        {
            if (shape.ValueKind == JsonValueKind.String && Enum.TryParse<CarbonShape>(shape.GetString(), ignoreCase: true, out var parsed)
                && Enum.IsDefined(parsed) && !int.TryParse(shape.GetString(), out _))
                carbon = parsed;
            else
                errors[Carbon] = ["must be null, \"fibres\" (carbon nanofibres: the fibre rules run) or \"particles\" (carbon black or binder: they do not)"];
        }

        int? registrationCrop = null;
        if (fields.TryGetValue(RegistrationCrop, out var crop) && crop.ValueKind != JsonValueKind.Null)
        {
            if (crop.ValueKind == JsonValueKind.Number && crop.TryGetInt32(out var px) && Hosting.SsbTomoOptions.IsRegistrationCrop(px))
                registrationCrop = px;
            else
                errors[RegistrationCrop] = [$"must be null (the service's SsbTomo:RegistrationCropPx) or a whole number of pixels from "
                    + $"{Hosting.SsbTomoOptions.MinimumRegistrationCropPx} to {Hosting.SsbTomoOptions.MaximumRegistrationCropPx}: the edge of the crop each slice is registered on"];
        }

        return errors.Count == 0
            ? (new JobsApi.SubmitJobRequest(sourcePath!, voxelSize) { Carbon = carbon, RegistrationCropPx = registrationCrop }, errors)
            : (null, errors);
    }

    private static VoxelSizeNm? ReadVoxelSize(JsonElement voxel, Dictionary<string, string[]> errors)
    {
        if (voxel.ValueKind != JsonValueKind.Object)
        {
            errors[VoxelSize] = [$"must be null or an object {{ \"x\", \"y\", \"z\" }} in nm, not {Describe(voxel.ValueKind)}"];
            return null;
        }
        var axes = Collect(voxel, Axes, VoxelSize + ".", errors);
        var values = new double[Axes.Length];
        var valid = true;
        for (var i = 0; i < Axes.Length; i++)
        {
            var name = $"{VoxelSize}.{Axes[i]}";
            if (!axes.TryGetValue(Axes[i], out var axis))
                (errors[name], valid) = (["is required"], false);
            else if (axis.ValueKind != JsonValueKind.Number)
                (errors[name], valid) = ([$"must be a number, not {Describe(axis.ValueKind)}"], false);
            // A literal like 1e999 parses to infinity; TryGetDouble refuses it.
            else if (!axis.TryGetDouble(out values[i]) || !double.IsFinite(values[i]) || values[i] < MinVoxelNm || values[i] > MaxVoxelNm)
                (errors[name], valid) = ([$"must be a finite number of nm from {MinVoxelNm} to {MaxVoxelNm}, not {axis.GetRawText()}"], false);
        }
        return valid ? new VoxelSizeNm(values[0], values[1], values[2]) : null;
    }

    /// <summary>
    /// The object's known members by their canonical name. Names match case-insensitively, as the API's JSON always
    /// has, but the same field twice in any spelling is an error rather than a silent "last one wins".
    /// </summary>
    private static Dictionary<string, JsonElement> Collect(JsonElement obj, string[] known, string prefix, Dictionary<string, string[]> errors)
    {
        var found = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var member in obj.EnumerateObject())
        {
            var name = known.FirstOrDefault(k => k.Equals(member.Name, StringComparison.OrdinalIgnoreCase));
            if (name is null)
                errors[prefix + member.Name] = [$"is not a known field; expected {string.Join(", ", known)}"];
            else if (!found.TryAdd(name, member.Value))
                errors[prefix + name] = ["is given more than once"];
        }
        return found;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
