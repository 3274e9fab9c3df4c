using System.Text.Json;

namespace SsbTomo.Orchestrator.Persistence;

/// <summary>One JSON form of <see cref="JobState"/> for every store (System.Text.Json; sets and arrays round-trip).</summary>
public static class JobStateJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        // Thresholds and means are doubles that must come back bit for bit; NaN/∞ are not expected but must not crash a save.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize(JobState state) => JsonSerializer.Serialize(state, Options);

    public static JsonElement SerializeToElement(JobState state) => JsonSerializer.SerializeToElement(state, Options);

    public static JobState Deserialize(string json) =>
        JsonSerializer.Deserialize<JobState>(json, Options) ?? throw new InvalidDataException("stored job state is JSON null");

    public static JobState Deserialize(JsonElement json) =>
        json.Deserialize<JobState>(Options) ?? throw new InvalidDataException("stored job state is JSON null");

    /// <summary>A deep copy, so a caller never shares an instance with a store or another message.</summary>
    public static JobState Clone(JobState state) => Deserialize(Serialize(state));
}
