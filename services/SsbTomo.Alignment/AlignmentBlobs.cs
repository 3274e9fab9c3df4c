using System.Text.Json;
using System.Text.Json.Serialization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Alignment;
using SsbTomo.Storage;

namespace SsbTomo.Alignment;

/// <summary>What a measurement chunk found in one slice, all the global solve needs of it.</summary>
/// <param name="Flat">Why the slice is left uncorrected (blank, saturated, out of focus); null when it is corrected.</param>
/// <param name="Background">The charging gradient it is flattened with; null: none.</param>
/// <param name="BackgroundSlice">Whose fit <paramref name="Background"/> is: this slice's own index, or an earlier slice's when this one had too little matrix.</param>
/// <param name="Range">Robust intensity range of the corrected slice (of the raw one when flat).</param>
public sealed record SliceMeasurement(int Index, string? Flat, BackgroundFit? Background, int? BackgroundSlice, IntensityRange Range,
    SliceBrightness Brightness, SliceRegistration Registration, IReadOnlyList<ParticleSection> Sections)
{
    public SliceCorrection Correction => new(Background, Flat is not null);
}

/// <summary>One measurement chunk's blob: slices [Z0, Z1) in order.</summary>
public sealed record AlignmentChunkMeasurements(int Z0, int Z1, IReadOnlyList<SliceMeasurement> Slices)
{
    /// <summary>The edge of the crop the slab's slices were registered on (null: stored before it was recorded).</summary>
    public int? RegistrationCropPx { get; init; }
}

/// <summary>How one slice goes into aligned.zarr: corrected, shifted back by <paramref name="Drift"/>, its <paramref name="Range"/> mapped to uint16.</summary>
public sealed record SliceShift(SliceCorrection Correction, Shift2D Drift, IntensityRange Range);

/// <summary>The global solve's blob, read by every shift chunk.</summary>
/// <param name="CropYx">The common valid region in slice-0 coordinates: y0, y1, x0, x1.</param>
public sealed record AlignmentSolution(int[] CropYx, IReadOnlyList<SliceShift> Slices)
{
    public (int Y0, int Y1, int X0, int X1) Crop => (CropYx[0], CropYx[1], CropYx[2], CropYx[3]);
}

/// <summary>
/// Reads and writes the alignment stage's own blobs. Doubles round-trip exactly through System.Text.Json, so the solve
/// and the shift chunks compute with the numbers the measurement chunks had, whichever process measured them.
/// </summary>
internal static class AlignmentBlobs
{
    private static readonly JsonSerializerOptions Options = new()
    {
        // A peak ratio is infinite for the origin slice.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static Task WriteAsync<T>(IBlobStore store, string key, T value, CancellationToken ct) =>
        store.WriteAsync(key, JsonSerializer.SerializeToUtf8Bytes(value, Options), ct);

    public static async Task<T> ReadAsync<T>(IBlobStore store, string key, CancellationToken ct) =>
        await store.ReadAsync(key, ct) is { } bytes
            ? JsonSerializer.Deserialize<T>(bytes, Options) ?? throw new InvalidDataException($"{key} is empty")
            // Written before the saga sent the command that reads it: missing means the store lost it, which a retry may cure.
            : throw new InvalidOperationException($"{key} is missing");
}
